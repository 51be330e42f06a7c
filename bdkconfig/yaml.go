package bdkconfig

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configError is an error in a configuration: it names the file (when there
// is one), the line (when known) and the key. It never holds a value of the
// file: key material and passwords must not reach an error.
type configError struct {
	file string // "" for Parse
	line int    // 0 when unknown
	key  string // e.g. "bot.privateKey.path"; "" for the whole document
	msg  string
	err  error // the cause, if any
}

func (e *configError) Error() string {
	var b strings.Builder
	b.WriteString("bdkconfig: ")
	switch {
	case e.file != "" && e.line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.file, e.line)
	case e.file != "":
		b.WriteString(e.file + ": ")
	case e.line > 0:
		fmt.Fprintf(&b, "config line %d: ", e.line)
	default:
		b.WriteString("config: ")
	}
	if e.key != "" {
		b.WriteString(e.key + ": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

func (e *configError) Unwrap() error { return e.err }

var (
	yamlLine   = regexp.MustCompile(`^line (\d+): `)
	yamlQuoted = regexp.MustCompile("'[^']*'|\"[^\"]*\"|`[^`]*`")
	yamlAnchor = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)
)

// yamlError returns the line and the description of a YAML syntax error,
// without what the document wrote: the library quotes a document's text in
// some errors ("unknown anchor 'hunter2' referenced", when a password
// starts with *), and that text may be a secret.
func yamlError(err error, data []byte) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 && line == 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
		return line, "an alias (*name) refers to no anchor (&name); a value that starts with * must be quoted"
	}
	msg = yamlQuoted.ReplaceAllStringFunc(msg, func(q string) string {
		if len(q) == 3 && strings.ContainsAny(q[1:2], ",:]}[{-?|>#&*!%@`") {
			return q // the library's own punctuation, as in "did not find expected ',' or ']'"
		}
		return "…"
	})
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return line, msg
}

// configParser reads one configuration document.
type configParser struct {
	file   string // shown in errors; "" for Parse
	dir    string // relative paths are resolved against it; "" means the working directory
	getenv func(string) (string, bool)

	warnings    []string          // what the load warns of: deprecated and ignored keys
	unused      []string          // the sections and keys BDK reads that symauth does not
	legacyNames map[string]string // for an SDK 1.x file: the flat key each BDK 2 key came from
}

// errorf returns a configError for key at line.
func (p *configParser) errorf(line int, key, format string, args ...any) error {
	return &configError{file: p.file, line: line, key: p.name(key), msg: fmt.Sprintf(format, args...)}
}

// name is key as the file wrote it: for an SDK 1.x file, its flat key.
func (p *configParser) name(key string) string {
	if flat, ok := p.legacyNames[key]; ok {
		return flat
	}
	return key
}

// warnf records a warning about the key at line.
func (p *configParser) warnf(line int, format string, args ...any) {
	p.warnings = append(p.warnings, p.position(line)+fmt.Sprintf(format, args...))
}

// wrap returns a configError for key at line caused by err, whose text is
// shown without a leading "symauth: ". err must not hold secrets: the
// package's own errors, file system errors and PKCS#12 errors do not.
func (p *configParser) wrap(line int, key, context string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "symauth: ")
	if context != "" {
		msg = context + ": " + msg
	}
	return &configError{file: p.file, line: line, key: p.name(key), msg: msg, err: err}
}

// section is one mapping of the document, under its key path.
type section struct {
	p    *configParser
	path string     // "" at the top level, else e.g. "bot.privateKey"
	node *yaml.Node // a mapping node; nil when the section is absent
	line int        // the line of the section's key, or 0
}

// key is the full key path of name in s.
func (s section) key(name string) string {
	if s.path == "" {
		return name
	}
	return s.path + "." + name
}

// present reports whether the section is in the document.
func (s section) present() bool { return s.node != nil }

// maxYAMLDepth bounds alias and merge-key chains.
const maxYAMLDepth = 32

// deref follows aliases and unwraps a document node; nil stays nil.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxYAMLDepth; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// isNull reports whether n is absent or a YAML null ("key:" with no value, ~ or null).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// lookup returns the key and value nodes of name in s (values dereferenced),
// or nils when name is absent. Merge keys ("<<: *defaults") are honoured:
// keys written in the mapping win over merged ones. A key given twice is an
// error.
func (s section) lookup(name string) (key, value *yaml.Node, err error) {
	if s.node == nil {
		return nil, nil, nil
	}
	return s.lookupIn(s.node, name, 0, map[*yaml.Node]bool{})
}

// lookupIn searches mapping m and, depth first, the mappings merged into it.
// searched holds the mappings already searched, without a match, in this
// lookup: each is searched once, so that merge keys repeated at every level
// ("<<: [*a, *a, …]") cost linear work, not exponential.
func (s section) lookupIn(m *yaml.Node, name string, depth int, searched map[*yaml.Node]bool) (key, value *yaml.Node, err error) {
	if depth > maxYAMLDepth {
		return nil, nil, s.p.errorf(m.Line, s.key(name), "merge keys nested too deeply")
	}
	if searched[m] {
		return nil, nil, nil
	}
	searched[m] = true
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == name:
			if key != nil {
				return nil, nil, s.p.errorf(k.Line, s.key(name), "given twice (lines %d and %d)", key.Line, k.Line)
			}
			key, value = k, deref(m.Content[i+1])
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge":
			merges = append(merges, deref(m.Content[i+1]))
		}
	}
	if key != nil {
		return key, value, nil
	}
	for _, mv := range merges {
		var maps []*yaml.Node
		switch {
		case mv == nil:
		case mv.Kind == yaml.MappingNode:
			maps = []*yaml.Node{mv}
		case mv.Kind == yaml.SequenceNode:
			for _, e := range mv.Content {
				if e = deref(e); e != nil && e.Kind == yaml.MappingNode {
					maps = append(maps, e)
				}
			}
		}
		for _, mm := range maps {
			if key, value, err = s.lookupIn(mm, name, depth+1, searched); key != nil || err != nil {
				return key, value, err
			}
		}
	}
	return nil, nil, nil
}

// sub returns the mapping name of s; absent or null gives an absent section.
func (s section) sub(name string) (section, error) {
	k, v, err := s.lookup(name)
	out := section{p: s.p, path: s.key(name)}
	switch {
	case err != nil:
		return out, err
	case isNull(v):
		if k != nil {
			out.line = k.Line
		}
		return out, nil
	case v.Kind != yaml.MappingNode:
		return out, s.p.errorf(k.Line, out.path, "want a mapping of keys, not %s", kindName(v))
	}
	out.node, out.line = v, k.Line
	return out, nil
}

// firstItem returns the first element of the list name of s, a mapping;
// an absent section when the list is absent or empty.
func (s section) firstItem(name string) (section, error) {
	k, v, err := s.lookup(name)
	out := section{p: s.p, path: s.key(name) + "[0]"}
	switch {
	case err != nil:
		return out, err
	case isNull(v):
		return out, nil
	case v.Kind != yaml.SequenceNode:
		return out, s.p.errorf(k.Line, s.key(name), "want a list, not %s", kindName(v))
	case len(v.Content) == 0:
		return out, nil
	}
	e := deref(v.Content[0])
	switch {
	case isNull(e):
		return out, nil
	case e.Kind != yaml.MappingNode:
		return out, s.p.errorf(v.Content[0].Line, out.path, "want a mapping of keys, not %s", kindName(e))
	}
	out.node, out.line = e, e.Line
	return out, nil
}

// scalar is a value read from the document, after interpolation.
type scalar struct {
	key  string // its key path
	line int    // its line
	text string // "" when absent or empty
}

// set reports whether the value was given and is not empty.
func (v scalar) set() bool { return v.text != "" }

// str returns the value of name: a single value, with ${VAR} and
// ${VAR:-default} replaced. Absent, null and empty all give "".
func (s section) str(name string) (scalar, error) {
	k, v, err := s.lookup(name)
	out := scalar{key: s.key(name), line: s.line}
	switch {
	case err != nil:
		return out, err
	case k != nil:
		out.line = k.Line
	}
	switch {
	case isNull(v):
		return out, nil
	case v.Kind != yaml.ScalarNode:
		return out, s.p.errorf(out.line, out.key, "want a single value, not %s", kindName(v))
	}
	out.text, err = s.p.interpolate(out.key, out.line, v.Value)
	return out, err
}

// integer returns the value of name as an integer in [lo, hi]; v.set() is
// false when it is absent or empty.
func (s section) integer(name string, lo, hi int64, what string) (n int64, v scalar, err error) {
	if v, err = s.str(name); err != nil || !v.set() {
		return 0, v, err
	}
	n, err = strconv.ParseInt(strings.TrimSpace(v.text), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, v, s.p.errorf(v.line, v.key, "want %s (an integer from %d to %d)", what, lo, hi)
	}
	return n, v, nil
}

// boolean returns the value of name as a boolean; false when absent.
func (s section) boolean(name string) (bool, error) {
	v, err := s.str(name)
	if err != nil || !v.set() {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(v.text)) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, s.p.errorf(v.line, v.key, "want true or false")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// interpolate replaces ${VAR} and ${VAR:-default} in a value of key with
// environment variables, as BDK Java does: the default is used when VAR is
// not set (an empty VAR is used as it is); the default may itself contain
// ${…}; $${ is a literal ${. An unset VAR without a default is an error
// naming VAR and key. The variables user.home and user.dir, when not set in
// the environment, are the home and working directories, as Java's system
// properties of those names are. The result is never shown in an error.
func (p *configParser) interpolate(key string, line int, s string) (string, error) {
	return p.interpolateDepth(key, line, s, 0)
}

func (p *configParser) interpolateDepth(key string, line int, s string, depth int) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if depth > maxYAMLDepth {
		return "", p.errorf(line, key, "${…} defaults nested too deeply")
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := closingBrace(s, i+2)
			if end < 0 {
				return "", p.errorf(line, key, "a ${ has no closing }")
			}
			name, def, hasDef := strings.Cut(s[i+2:end], ":-")
			if name == "" || strings.ContainsAny(name, " \t\r\n${}") {
				return "", p.errorf(line, key, "a ${…} has no valid variable name")
			}
			value, ok := p.lookupVar(name)
			if !ok {
				if !hasDef {
					return "", p.errorf(line, key, "environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
				}
				var err error
				if value, err = p.interpolateDepth(key, line, def, depth+1); err != nil {
					return "", err
				}
			}
			b.WriteString(value)
			i = end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the } that closes a ${ whose content
// starts at from, skipping nested ${…}; -1 when there is none.
func closingBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func (p *configParser) lookupVar(name string) (string, bool) {
	if v, ok := p.getenv(name); ok {
		return v, true
	}
	switch name {
	case "user.home":
		if home, err := os.UserHomeDir(); err == nil {
			return home, true
		}
	case "user.dir":
		if wd, err := os.Getwd(); err == nil {
			return wd, true
		}
	}
	return "", false
}

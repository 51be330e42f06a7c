package bdkconfig

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// keySet is the keys BDK knows in one kind of mapping, each with the kind of
// mapping its value is (nil: a value, or a mapping of free keys).
type keySet map[string]*keySet

// The keys of BDK 2.x (BDK Java's config model, BDK Python's loader), by
// mapping. A key BDK does not know, inside one of these mappings, is an
// error: BDK would ignore it and the bot would run without what it says.
var (
	proxyKeys       = keySet{"host": nil, "port": nil, "username": nil, "password": nil}
	rsaKeyKeys      = keySet{"path": nil, "content": nil}
	certificateKeys = keySet{"path": nil, "content": nil, "password": nil}
	retryKeys       = keySet{"maxAttempts": nil, "initialIntervalMillis": nil, "multiplier": nil, "maxIntervalMillis": nil}
	serverKeySet    = keySet{
		"scheme": nil, "host": nil, "port": nil, "context": nil, "proxy": &proxyKeys,
		"connectionTimeout": nil, "readTimeout": nil, "connectionPoolMax": nil, "connectionPoolPerRoute": nil,
		"defaultHeaders": nil,
	}
	loadBalancingKeys = keySet{"mode": nil, "stickiness": nil, "nodes": &serverKeySet}
	agentKeySet       = with(serverKeySet, keySet{"loadBalancing": &loadBalancingKeys})
	authKeys          = keySet{
		"privateKey": &rsaKeyKeys, "certificate": &certificateKeys,
		"privateKeyPath": nil, "privateKeyContent": nil,
		"certificatePath": nil, "certificateContent": nil, "certificatePassword": nil,
	}
	botKeys  = with(authKeys, keySet{"username": nil})
	appKeys  = with(authKeys, keySet{"appId": nil})
	sslKeys  = keySet{"trustStore": &certificateKeys, "trustStorePath": nil, "trustStorePassword": nil}
	feedKeys = keySet{"version": nil, "idFilePath": nil, "retry": &retryKeys, "includeInvisible": nil, "tag": nil}
	hoseKeys = keySet{"retry": &retryKeys, "tag": nil, "eventTypes": nil}
	jwtKeys  = keySet{"enabled": nil}
	topKeys  = with(serverKeySet, keySet{
		"_version": nil, "pod": &serverKeySet, "agent": &agentKeySet, "keyManager": &serverKeySet,
		"sessionAuth": &serverKeySet, "bot": &botKeys, "app": &appKeys, "ssl": &sslKeys, "retry": &retryKeys,
		"datafeed": &feedKeys, "datahose": &hoseKeys, "commonJwt": &jwtKeys, "extensions": nil,
	})
)

// unusedSections are the sections BDK reads that symauth does not: they
// configure the SDK's event loops and extensions, not authentication.
var unusedSections = [...]string{"datafeed", "datahose", "extensions"}

// keyName is what a key of a BDK file looks like; an unknown key is shown
// in an error only when it matches.
var keyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

func with(a, b keySet) keySet {
	out := keySet{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// checkKeys reports the first key, in document order, that BDK does not
// know inside a known mapping of root. Unknown keys at the top level are
// returned as warnings, unless they look like a misspelt known key.
func (p *configParser) checkKeys(root *yaml.Node) (warnings []string, err error) {
	type visit struct {
		n    *yaml.Node
		keys *keySet
	}
	seen := map[visit]bool{} // each mapping is checked once against each set: merge keys cost linear work
	var check func(n *yaml.Node, keys *keySet, path string, depth int) error
	check = func(n *yaml.Node, keys *keySet, path string, depth int) error {
		n = deref(n)
		if n == nil || depth > maxYAMLDepth || seen[visit{n, keys}] {
			return nil
		}
		seen[visit{n, keys}] = true
		switch n.Kind {
		case yaml.SequenceNode: // loadBalancing.nodes: each a server
			for i, e := range n.Content {
				if err := check(e, keys, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
			return nil
		case yaml.MappingNode:
		default:
			return nil // a wrong kind is reported where the value is read
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return p.errorf(k.Line, path, "a key must be a single value, not %s", kindName(k))
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				merged := deref(n.Content[i+1])
				if merged != nil && merged.Kind == yaml.SequenceNode {
					for _, m := range merged.Content {
						if err := check(m, keys, path, depth+1); err != nil {
							return err
						}
					}
				} else if err := check(merged, keys, path, depth+1); err != nil {
					return err
				}
				continue
			}
			sub, known := (*keys)[k.Value]
			if !known && !keyName.MatchString(k.Value) {
				// Not a key name: likely "key:value" without a space, so a
				// value, perhaps a password, is in it. It is not shown.
				return p.errorf(k.Line, path, "a key that is not a key name (is a space missing after a colon?)")
			}
			full := joinKey(path, k.Value)
			switch {
			case !known && path == "":
				if near := nearest(k.Value, *keys); near != "" {
					return p.errorf(k.Line, full, "unknown key %s; did you mean %s?", k.Value, near)
				}
				warnings = append(warnings, p.position(k.Line)+full+": not a BDK key; ignored")
			case !known:
				msg := "unknown key " + k.Value
				if near := nearest(k.Value, *keys); near != "" {
					msg += "; did you mean " + near + "?"
				} else {
					msg += " (" + path + " has " + strings.Join(sortedKeys(*keys), ", ") + ")"
				}
				return p.errorf(k.Line, full, "%s", msg)
			case sub != nil:
				if err := check(n.Content[i+1], sub, full, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err = check(root, &topKeys, "", 0)
	return warnings, err
}

// position is "file:line: " (or "line N: ") for warnings.
func (p *configParser) position(line int) string {
	e := configError{file: p.file, line: line}
	return strings.TrimPrefix(e.Error(), "bdkconfig: ")
}

func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys(keys keySet) []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nearest returns the known key that name most likely misspells: equal but
// for case, or at most two edits away (one for short names); "" if none.
func nearest(name string, keys keySet) string {
	best, bestDist := "", 3
	if len(name) <= 4 {
		bestDist = 2
	}
	for _, k := range sortedKeys(keys) {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(k), bestDist); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// limit or more.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 || abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

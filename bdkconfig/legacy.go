package bdkconfig

import (
	"net/url"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The SDK 1.x configuration (the Java SDK 1.x "symphony-api-client-java"
// and the Node client "symphony-api-client-node") is one flat JSON object.
// A document with any of these keys at its top level is read as one.
var legacyMarkers = [...]string{"botUsername", "podHost", "sessionAuthHost", "keyAuthHost", "agentHost"}

// legacyServers maps the flat server keys to BDK 2's sections.
var legacyServers = [...]struct{ prefix, section string }{
	{"pod", "pod"}, {"agent", "agent"}, {"keyAuth", "keyManager"}, {"sessionAuth", "sessionAuth"},
}

// legacyUnused are SDK 1.x keys that configure the SDKs' datafeed loops,
// extension-app filters and message parsing, not authentication.
var legacyUnused = map[string]bool{
	"_version": true, "botEmailAddress": true, "datafeedVersion": true, "datafeedIdFilePath": true,
	"datafeedEventsThreadpoolSize": true, "datafeedEventsErrorTimeout": true, "reuseDatafeedID": true,
	"authenticationFilterUrlPattern": true, "showFirehoseErrors": true, "supportedUriSchemes": true,
	"authTokenRefreshPeriod": true, "maxRetries": true, "maxWaitInterval": true,
}

// Timeouts of the Java SDK 1.x when its file gives none (SymConfig).
const (
	legacyConnectTimeoutMillis = "10000"
	legacyReadTimeoutMillis    = "35000"
	legacyRetryMultiplier      = "1.5"
)

// isLegacy reports whether the mapping root is an SDK 1.x configuration.
func isLegacy(root *yaml.Node) bool {
	for i := 0; i+1 < len(root.Content); i += 2 {
		for _, m := range legacyMarkers {
			if root.Content[i].Value == m {
				return true
			}
		}
	}
	return false
}

// legacyDoc builds, from an SDK 1.x configuration, the BDK 2 document that
// means the same, and records under which flat key each BDK 2 key was
// written, for errors:
//
//   - podHost, podPort, podContextPath → pod.host, .port, .context (and so
//     for agent, keyAuth → keyManager, sessionAuth); https, port 443;
//   - botUsername, botPrivateKeyPath + botPrivateKeyName (a directory and a
//     file name, joined), botCertPath + botCertName, botCertPassword → bot;
//     appId and the app* keys → app; authType (rsa or cert, as the Node
//     client reads it) chooses when both a key and a certificate are given;
//   - proxyURL, proxyUsername, proxyPassword → proxy; podProxyURL … →
//     pod.proxy, agentProxyURL … → agent.proxy, keyManagerProxyURL … →
//     keyManager.proxy (a server's own proxy wins, as in the Java SDK);
//   - truststorePath, truststorePassword → ssl.trustStore (JKS, as the Java
//     SDK's);
//   - connectionTimeout, readTimeout (default 10 s and 35 s, the Java SDK's)
//     and retry (maxAttempts, initialIntervalMillis, multiplier: default 1.5).
func (p *configParser) legacyDoc(root *yaml.Node) (*yaml.Node, error) {
	keys := map[string]*yaml.Node{}
	lines := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k.Line, "", "a key must be a single value, not %s", kindName(k))
		}
		if _, dup := keys[k.Value]; dup {
			return nil, p.errorf(k.Line, k.Value, "given twice (lines %d and %d)", lines[k.Value], k.Line)
		}
		keys[k.Value], lines[k.Value] = root.Content[i+1], k.Line
	}
	d := &legacyBuilder{p: p, keys: keys, lines: lines, used: map[string]bool{}, doc: mapping(root.Line)}
	p.legacyNames = legacyNames()

	for _, s := range legacyServers {
		d.move(s.prefix+"Host", s.section, "host")
		d.move(s.prefix+"Port", s.section, "port")
		d.move(s.prefix+"ContextPath", s.section, "context")
	}
	d.move("botUsername", "bot", "username")
	d.move("appId", "app", "appId")
	authType, err := d.text("authType")
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(authType) {
	case "", "rsa", "cert":
	default:
		return nil, p.errorf(lines["authType"], "authType", "want rsa or cert")
	}
	for _, who := range []string{"bot", "app"} {
		rsa, cert := strings.ToLower(authType) != "cert", strings.ToLower(authType) != "rsa"
		if authType == "" || who == "app" {
			rsa, cert = true, true
		}
		if err := d.file(who+"PrivateKeyPath", who+"PrivateKeyName", rsa, who, "privateKey", "path"); err != nil {
			return nil, err
		}
		if err := d.file(who+"CertPath", who+"CertName", cert, who, "certificate", "path"); err != nil {
			return nil, err
		}
		if cert {
			d.move(who+"CertPassword", who, "certificate", "password")
		} else {
			d.used[who+"CertPassword"] = true
		}
	}
	d.move("truststorePath", "ssl", "trustStore", "path")
	d.move("truststorePassword", "ssl", "trustStore", "password")
	for _, px := range []struct{ prefix, section string }{{"proxy", ""}, {"podProxy", "pod"}, {"agentProxy", "agent"}, {"keyManagerProxy", "keyManager"}} {
		if err := d.proxy(px.prefix, px.section); err != nil {
			return nil, err
		}
	}
	d.moveOr("connectionTimeout", legacyConnectTimeoutMillis, "connectionTimeout")
	d.moveOr("readTimeout", legacyReadTimeoutMillis, "readTimeout")
	if r, ok := keys["retry"]; ok {
		d.move("retry", "retry")
		if r = deref(r); r != nil && r.Kind == yaml.MappingNode && !hasKey(r, "multiplier") {
			r.Content = append(r.Content, scalarNode("multiplier", r.Line), scalarNode(legacyRetryMultiplier, r.Line))
		}
	} else {
		d.set([]string{"retry", "multiplier"}, scalarNode(legacyRetryMultiplier, root.Line), "retry")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		name := root.Content[i].Value
		switch {
		case d.used[name]:
		case legacyUnused[name]:
			p.unused = append(p.unused, name)
		case name == "nodeTlsRejectUnauthorized":
			p.warnf(root.Content[i].Line, "nodeTlsRejectUnauthorized is ignored: symauth always verifies TLS certificates")
		default:
			if near := nearestLegacy(name); near != "" {
				return nil, p.errorf(root.Content[i].Line, name, "unknown key %s; did you mean %s?", name, near)
			}
			p.warnf(root.Content[i].Line, "%s: not an SDK 1.x key; ignored", name)
		}
	}
	return d.doc, nil
}

// legacyNames maps each BDK 2 key an SDK 1.x file can give to its flat
// key, so that errors about a key the file lacks name the flat one too.
func legacyNames() map[string]string {
	names := map[string]string{
		"bot.username": "botUsername", "app.appId": "appId",
		"ssl.trustStore.path": "truststorePath", "ssl.trustStore.password": "truststorePassword",
		"connectionTimeout": "connectionTimeout", "readTimeout": "readTimeout",
	}
	for _, s := range legacyServers {
		names[s.section+".host"] = s.prefix + "Host"
		names[s.section+".port"] = s.prefix + "Port"
		names[s.section+".context"] = s.prefix + "ContextPath"
	}
	names["bot"], names["app"] = "botUsername", "appId"
	for _, who := range []string{"bot", "app"} {
		names[who+".privateKey"] = who + "PrivateKeyPath + " + who + "PrivateKeyName"
		names[who+".certificate"] = who + "CertPath + " + who + "CertName"
		names[who+".privateKey.path"] = who + "PrivateKeyPath + " + who + "PrivateKeyName"
		names[who+".certificate.path"] = who + "CertPath + " + who + "CertName"
		names[who+".certificate.password"] = who + "CertPassword"
	}
	for _, px := range []struct{ prefix, section string }{{"proxy", ""}, {"podProxy", "pod."}, {"agentProxy", "agent."}, {"keyManagerProxy", "keyManager."}} {
		names[px.section+"proxy.host"] = px.prefix + "URL"
		names[px.section+"proxy.port"] = px.prefix + "URL"
		names[px.section+"proxy.username"] = px.prefix + "Username"
		names[px.section+"proxy.password"] = px.prefix + "Password"
	}
	return names
}

// legacyBuilder writes the BDK 2 document of an SDK 1.x one.
type legacyBuilder struct {
	p     *configParser
	keys  map[string]*yaml.Node
	lines map[string]int
	used  map[string]bool
	doc   *yaml.Node
}

// move puts the flat key's value at the BDK 2 key path.
func (d *legacyBuilder) move(flat string, path ...string) {
	v, ok := d.keys[flat]
	if !ok {
		return
	}
	d.used[flat] = true
	d.set(path, v, flat)
}

// moveOr is move, with def as the value when the flat key is absent.
func (d *legacyBuilder) moveOr(flat, def string, path ...string) {
	if _, ok := d.keys[flat]; ok {
		d.move(flat, path...)
		return
	}
	d.set(path, scalarNode(def, d.doc.Line), flat)
}

// set writes value at path in the document, made of mappings, and records
// flat as its name.
func (d *legacyBuilder) set(path []string, value *yaml.Node, flat string) {
	m := d.doc
	line := d.lines[flat]
	for i, name := range path {
		if i == len(path)-1 {
			m.Content = append(m.Content, scalarNode(name, line), value)
			break
		}
		var next *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == name {
				next = m.Content[j+1]
			}
		}
		if next == nil {
			next = mapping(line)
			m.Content = append(m.Content, scalarNode(name, line), next)
		}
		m = next
	}
	d.p.legacyNames[strings.Join(path, ".")] = flat
}

// text returns the interpolated text of a flat key, "" when absent.
func (d *legacyBuilder) text(flat string) (string, error) {
	v, ok := d.keys[flat]
	if !ok {
		return "", nil
	}
	d.used[flat] = true
	v = deref(v)
	if isNull(v) {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", d.p.errorf(d.lines[flat], flat, "want a single value, not %s", kindName(v))
	}
	return d.p.interpolate(flat, d.lines[flat], v.Value)
}

// file joins a directory key and a file-name key into the BDK 2 path key
// (either alone is the path); wanted false drops them (authType chose the
// other login).
func (d *legacyBuilder) file(dirKey, nameKey string, wanted bool, path ...string) error {
	dir, err := d.text(dirKey)
	if err != nil {
		return err
	}
	name, err := d.text(nameKey)
	if err != nil || !wanted || (dir == "" && name == "") {
		return err
	}
	joined, flat := filepath.Join(dir, name), dirKey+" + "+nameKey
	switch {
	case dir == "":
		joined, flat = name, nameKey
	case name == "":
		joined, flat = dir, dirKey
	}
	line := d.lines[dirKey]
	if line == 0 {
		line = d.lines[nameKey]
	}
	d.lines[flat] = line
	d.set(path, scalarNode(escapeInterpolation(joined), line), flat)
	return nil
}

// proxy reads prefix+"URL" ("http://host:port"), prefix+"Username" and
// prefix+"Password" into the proxy of section ("" for the top level).
func (d *legacyBuilder) proxy(prefix, section string) error {
	raw, err := d.text(prefix + "URL")
	if err != nil {
		return err
	}
	user, err := d.text(prefix + "Username")
	if err != nil {
		return err
	}
	password, err := d.text(prefix + "Password")
	if err != nil || raw == "" {
		return err
	}
	key, line := prefix+"URL", d.lines[prefix+"URL"]
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || strings.Trim(u.Path, "/") != "" {
		return d.p.errorf(line, key, "want the proxy's URL, such as http://proxy.acme.com:3128")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if u.Scheme == "https" {
		d.p.warnf(line, "%s: symauth talks to the proxy in plain HTTP (CONNECT), as the SDKs do", key)
	}
	base := []string{"proxy"}
	if section != "" {
		base = []string{section, "proxy"}
	}
	for _, kv := range [][2]string{{"host", u.Hostname()}, {"port", port}, {"username", user}, {"password", password}} {
		if kv[1] != "" {
			flat := key
			switch kv[0] {
			case "username":
				flat = prefix + "Username"
			case "password":
				flat = prefix + "Password"
			}
			d.set(append(append([]string{}, base...), kv[0]), scalarNode(escapeInterpolation(kv[1]), line), flat)
		}
	}
	return nil
}

func mapping(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
}

func scalarNode(text string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Line: line}
}

func hasKey(m *yaml.Node, name string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return true
		}
	}
	return false
}

// escapeInterpolation makes already-interpolated text read back as itself.
func escapeInterpolation(s string) string { return strings.ReplaceAll(s, "${", "$${") }

// nearestLegacy returns the SDK 1.x key that name most likely misspells.
func nearestLegacy(name string) string {
	known := keySet{"authType": nil, "retry": nil, "nodeTlsRejectUnauthorized": nil}
	for _, flat := range legacyNames() {
		for _, k := range strings.Split(flat, " + ") { // "botPrivateKeyPath + botPrivateKeyName"
			known[k] = nil
		}
	}
	for k := range legacyUnused {
		known[k] = nil
	}
	return nearest(name, known)
}

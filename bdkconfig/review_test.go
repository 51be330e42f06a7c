package bdkconfig_test

// Failing tests of a hostile review of bdkconfig (issue 13). Each one
// proves a bug; see the comment above it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/pavlo-v-chernykh/keystore-go/v4"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/pkcs12guard"
	"github.com/symauth/symauth/symauthtest"
)

// reviewBound is how long a test waits for a Load that opens a file: it
// never takes more than milliseconds unless it hangs.
const reviewBound = 3 * time.Second

// reviewLoad runs Load in a goroutine and reports whether it returned
// within reviewBound; unblock, if it did not, makes it return (so that no
// goroutine is left behind).
func reviewLoad(t *testing.T, path string, unblock func()) (err error, returned bool) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
		done <- err
	}()
	select {
	case err = <-done:
		return err, true
	case <-time.After(reviewBound):
		unblock()
		<-done
		return nil, false
	}
}

// openFIFOWriter opens the write end of the FIFO at path and closes it at
// once: a reader blocked in open(2) then reads EOF.
func openFIFOWriter(t *testing.T, path string) func() {
	return func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.Close()
	}
}

// The issue, Bounds: "a credential path that is a FIFO or a device must not
// hang or exhaust memory (today LoadConfig hangs on a FIFO)". readFile
// (tmp_readfile.go, "TEMPORARY until internal/fileread lands") opens
// whatever the path names with os.Open, which blocks for ever on a FIFO
// that has no writer: a key path, a trust store path or the configuration
// itself that is a FIFO hangs Load.
func TestReviewFIFODoesNotHangLoad(t *testing.T) {
	for _, c := range []struct{ name, fifo, text string }{
		{"bot.privateKey.path", "bot.pem", "host: pod.example.com\nbot:\n  username: b\n  privateKey:\n    path: bot.pem\n"},
		{"ssl.trustStore.path", "ca.pem", "host: pod.example.com\nssl:\n  trustStore:\n    path: ca.pem\n"},
		{"the configuration", "config.yaml", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, c.fifo)
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			path := fifo
			if c.text != "" {
				path = writeConfig(t, dir, c.text)
			}
			err, returned := reviewLoad(t, path, openFIFOWriter(t, fifo))
			if !returned {
				t.Fatalf("Load did not return within %v when %s is a FIFO", reviewBound, c.name)
			}
			wantError(t, err, c.fifo)
		})
	}
}

// pbmac1TrustStore is a PKCS#12 file whose MAC is PBMAC1 (RFC 9579) with
// PBKDF2 at iterations, its salt tagged [4] (context-specific) instead of a
// universal OCTET STRING, or universal when universalSalt. go-pkcs12 v0.7.4
// only compares the salt's tag number (kdfParams.Salt.Tag != 4), so it runs
// PBKDF2 on either; pkcs12guard.checkSaltThenCount only looks for an
// INTEGER after a universal OCTET STRING. keyLength 0 makes go-pkcs12 give
// up just before PBKDF2 runs, so that the test does not spend the
// iterations; with keyLength 32 the same file costs 2^40 PBKDF2 rounds.
func pbmac1TrustStore(t testing.TB, iterations int64, universalSalt bool, keyLength int) []byte {
	t.Helper()
	m := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hmacSHA256 := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}
	salt := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, Bytes: []byte("0123456789abcdef")}
	if universalSalt {
		salt.Class = asn1.ClassUniversal
	}
	type pbkdf2Params struct {
		Salt       asn1.RawValue
		Iterations int64
		KeyLength  int `asn1:"optional"`
		Prf        pkix.AlgorithmIdentifier
	}
	kdf := m(pbkdf2Params{Salt: salt, Iterations: iterations, KeyLength: keyLength, Prf: hmacSHA256})
	type pbmac1Params struct{ Kdf, MacAlg pkix.AlgorithmIdentifier }
	params := m(pbmac1Params{
		Kdf:    pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}, Parameters: asn1.RawValue{FullBytes: kdf}},
		MacAlg: hmacSHA256,
	})
	type digestInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	type macData struct {
		Mac        digestInfo
		MacSalt    []byte
		Iterations int
	}
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit"`
	}
	type pfx struct {
		Version  int
		AuthSafe contentInfo
		MacData  macData
	}
	return m(pfx{
		Version: 3,
		AuthSafe: contentInfo{ContentType: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1},
			Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: m(m([]asn1.RawValue{}))}},
		MacData: macData{
			Mac: digestInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14},
				Parameters: asn1.RawValue{FullBytes: params}}, Digest: make([]byte, 32)},
			MacSalt: []byte("s"), Iterations: 1,
		},
	})
}

// The issue, Bounds: "The PKCS#12 iteration guard is bypassed by a 2.5 KB
// .p12 using the PBMAC1 MAC format with its salt tagged [4] instead of a
// universal OCTET STRING: 2^40 iterations, about 40 hours of CPU whatever
// the password, through ParsePKCS12 and ssl.trustStore. Guard every
// iteration count the decoder will honour." The change did not touch
// internal/pkcs12guard: the guard refuses 2^40 iterations after a universal
// OCTET STRING salt, and lets the [4]-tagged one through to the decoder.
func TestReviewPBMAC1TaggedSaltIterationsGuarded(t *testing.T) {
	const iterations = 1 << 40
	// The file that costs 40 hours of CPU: the guard must refuse it.
	t.Run("the guard, keyLength 32", func(t *testing.T) {
		if err := pkcs12guard.CheckIterations(pbmac1TrustStore(t, iterations, false, 32)); err == nil {
			t.Error("CheckIterations lets a PBMAC1 file with 2^40 PBKDF2 iterations through (salt tagged [4]); go-pkcs12 runs them")
		}
		if err := pkcs12guard.CheckIterations(pbmac1TrustStore(t, iterations, true, 32)); err == nil {
			t.Error("control: CheckIterations lets 2^40 iterations after a universal OCTET STRING through")
		}
	})
	// Through ssl.trustStore, with keyLength 0 so that the decoder gives up
	// just before PBKDF2 when the guard does not stop the file.
	for _, c := range []struct {
		name      string
		universal bool
	}{{"ssl.trustStore, universal OCTET STRING salt (control)", true}, {"ssl.trustStore, [4]-tagged salt", false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"truststore.p12": pbmac1TrustStore(t, iterations, c.universal, 0)})
			_, err := bdkconfig.Load(writeConfig(t, dir, "host: pod.example.com\nssl:\n  trustStore:\n    path: truststore.p12\n    password: changeit\n"),
				bdkconfig.WithLogger(quietLogger()))
			wantError(t, err, "iterations")
		})
	}
}

// rawJKS is a JKS file written by hand: entries already encoded, then the
// integrity digest under password, as keytool computes it.
func rawJKS(password string, entries ...[]byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFE, 0xED, 0xFE, 0xED})
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	_ = binary.Write(&b, binary.BigEndian, uint32(len(entries)))
	for _, e := range entries {
		b.Write(e)
	}
	h := sha1.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r >> 8), byte(r)})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(b.Bytes())
	b.Write(h.Sum(nil))
	return b.Bytes()
}

// jksKeyEntry is a private key entry of a JKS file: the protected key as
// given, then the chain.
func jksKeyEntry(alias string, protectedKey []byte, chain ...[]byte) []byte {
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.BigEndian, v) }
	w(uint32(1))
	w(uint16(len(alias)))
	b.WriteString(alias)
	w(uint64(0))
	w(uint32(len(protectedKey)))
	b.Write(protectedKey)
	w(uint32(len(chain)))
	for _, der := range chain {
		w(uint16(len("X.509")))
		b.WriteString("X.509")
		w(uint32(len(der)))
		b.Write(der)
	}
	return b.Bytes()
}

// A JKS key store whose private key entry holds a protected key shorter
// than its salt and digest (40 bytes) passes checkJKSStructure and the
// store's integrity check, and keystore-go's decrypt then computes a
// negative length and panics (makeslice: len out of range, keyprotector.go
// line 52): Load of a bot certificate that is such a file crashes the
// program instead of returning an error.
func TestReviewJKSShortProtectedKeyDoesNotPanic(t *testing.T) {
	type keyInfo struct {
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	protected, err := asn1.Marshal(keyInfo{
		Algo:       pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 42, 2, 17, 1, 1}, Parameters: asn1.NullRawValue},
		PrivateKey: []byte("too short"),
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"bot.jks": rawJKS("changeit", jksKeyEntry("bot", protected, selfSigned(t, "jks-bot").Certificate[0]))})
	path := writeConfig(t, dir, "host: pod.example.com\nbot:\n  certificate:\n    path: bot.jks\n    password: changeit\n")
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Load panicked on a JKS key store with a short protected key: %v", r)
			}
		}()
		_, err = bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
	}()
	wantError(t, err, "bot.certificate.path")
}

// The issue: "a YAML error never echoes a value"; Config's docs: "neither
// do the errors of Load and Parse [show a password], which name the file,
// the line and the key instead". A flow mapping that lacks the space after
// a colon ("password:hunter2", a common slip) makes the key and the value
// one plain scalar, which the unknown-key check quotes back whole: the
// password reaches the error.
func TestReviewUnknownKeyErrorDoesNotEchoTheValue(t *testing.T) {
	const secret = "review-proxy-secret"
	for _, text := range []string{
		"host: pod.example.com\nproxy: {host: proxy.example.com, port: 3128, username: u, password:" + secret + "}\n",
		"host: pod.example.com\nbot: {username: b, certificate: {path: bot.p12, password:" + secret + "}}\n",
		"host: pod.example.com\nssl: {trustStore: {path: ts.p12, password:" + secret + "}}\n",
	} {
		_, err := bdkconfig.Parse([]byte(text), bdkconfig.WithLogger(quietLogger()))
		if err == nil {
			t.Fatalf("Parse(%q): no error", text)
		}
		assertNoSecrets(t, []string{err.Error()}, secret)
	}
}

// BdkSslConfig.isValid and BdkAuthenticationConfig.isCertificateConfigurationValid
// only refuse a deprecated *path or content* beside the current section;
// a deprecated password beside a current section that has its own is
// ignored (getCertificateConfig returns the current section). Files halfway
// through the migration have both, with the same value: BDK Java loads and
// logs in; bdkconfig refuses the trust store at Load, and the certificate
// at Session ("give ….password or …Password, not both").
func TestReviewDeprecatedPasswordBesideCurrentOne(t *testing.T) {
	srv := newPod(t)
	cert, err := srv.IssueClientCertificate("cert-bot")
	if err != nil {
		t.Fatal(err)
	}
	const password = "changeit"
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"truststore.p12": trustStoreP12(t, password, caOf(t, srv)),
		"bot.p12":        certP12(t, cert, password),
	})
	text := strings.Replace(serverKeys(srv), "path: ca.pem", "path: truststore.p12\n    password: changeit", 1)

	t.Run("ssl.trustStorePassword", func(t *testing.T) {
		text := strings.Replace(text, "ssl:\n", "ssl:\n  trustStorePassword: changeit\n", 1)
		text += "bot:\n  certificate:\n    path: bot.p12\n    password: changeit\n"
		if _, err := bdkconfig.Load(writeConfig(t, dir, text), bdkconfig.WithLogger(quietLogger())); err != nil {
			t.Fatalf("BDK Java reads ssl.trustStore and ignores ssl.trustStorePassword; Load: %v", err)
		}
	})
	t.Run("bot.certificatePassword", func(t *testing.T) {
		text := text + "bot:\n  certificate:\n    path: bot.p12\n    password: changeit\n  certificatePassword: changeit\n"
		cfg, err := bdkconfig.Load(writeConfig(t, dir, text), bdkconfig.WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		client, err := cfg.HTTPClient()
		if err != nil {
			t.Fatalf("BDK Java logs in with bot.certificate and ignores bot.certificatePassword; HTTPClient: %v", err)
		}
		t.Cleanup(client.CloseIdleConnections)
		formsSessionInfo(t, client, cfg.PodURL(), "cert-bot")
	})
}

// headerRecorder is a server that keeps the value of one header of every
// request it gets, by path.
type headerRecorder struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	seen map[string][]string
}

func newHeaderRecorder(t *testing.T, name string, tls bool) *headerRecorder {
	t.Helper()
	r := &headerRecorder{name: name, seen: map[string][]string{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen[req.URL.Path] = append(r.seen[req.URL.Path], req.Header.Get(name))
		r.mu.Unlock()
		http.Error(w, `{"code":500,"message":"recorder"}`, http.StatusInternalServerError)
	})
	if tls {
		r.Server = httptest.NewTLSServer(h)
	} else {
		r.Server = httptest.NewServer(h)
	}
	t.Cleanup(r.Close)
	return r
}

func (r *headerRecorder) values(path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen[path]...)
}

func (r *headerRecorder) all() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for k, v := range r.seen {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// defaultHeaders are BDK's for the ApiClients of the four servers (the top
// level's inherited by each section). The http.Client of a Config sends
// the top level's to every host it talks to — a host the file does not
// name, or the host a pod redirects to — though it takes care to send the
// tokens to the pod and agent only: an API gateway key in defaultHeaders
// leaks to any third party the bot's client reaches.
func TestReviewDefaultHeadersOnlyToConfiguredServers(t *testing.T) {
	const secret = "review-gateway-key"
	srv := newPod(t)
	foreign := newHeaderRecorder(t, "X-Api-Key", false)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+"defaultHeaders:\n  X-Api-Key: "+secret+"\n"))
	client := configClient(t, cfg)

	// A redirect from the pod to another host.
	srv.InjectFault(symauthtest.PathSessionInfo, symauthtest.Fault{Status: http.StatusFound, Header: http.Header{"Location": {foreign.URL + "/redirected"}}, Times: 1})
	get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo)
	// A direct call to a host the file does not name.
	get(t, client, foreign.URL+"/direct")

	for path, values := range foreign.all() {
		for _, v := range values {
			if v == secret {
				t.Errorf("%s on a host the configuration does not name got the top level's defaultHeaders X-Api-Key", path)
			}
		}
	}
	if len(foreign.values("/redirected")) != 1 || len(foreign.values("/direct")) != 1 {
		t.Fatalf("the foreign host got %v", foreign.all())
	}
}

// Each BDK section is its own ApiClient, with its own readTimeout,
// defaultHeaders and proxy (ApiClientFactory.getApiClientBuilder). The
// routes table matches a request to a server by host:port alone, first
// match in the order pod, agent, keyManager, sessionAuth: when the agent
// is on the pod's host and port (Symphony's cloud agents, API gateways
// with one host), every agent call gets the pod section's settings. Here
// the agent's readTimeout of 200ms is replaced by the pod's 60 s.
func TestReviewSectionsOnOneHostKeepTheirSettings(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+"pod:\n  readTimeout: 60000\nagent:\n  readTimeout: 200\n"))
	if cfg.Agent.ReadTimeout != 200*time.Millisecond || cfg.Pod.ReadTimeout != time.Minute {
		t.Fatalf("ReadTimeout: agent %v, pod %v", cfg.Agent.ReadTimeout, cfg.Pod.ReadTimeout)
	}
	client := configClient(t, cfg)
	formsSessionInfo(t, client, cfg.PodURL(), botName) // logs in

	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	srv.InjectFault(symauthtest.PathDatafeeds, symauthtest.Fault{Hold: hold})
	resp, err, bounded := e2eGet(t, client, cfg.AgentURL()+symauthtest.PathDatafeeds)
	if err == nil {
		resp.Body.Close()
	}
	wantReadTimeout(t, "an agent call on the pod's host and port", err, bounded)
	if !strings.Contains(err.Error(), "agent") {
		t.Errorf("error %q does not name the agent", err)
	}
}

// "A broken server that the bot does not use must not stop it." The
// on-behalf-of login of an app with a certificate goes to the session auth
// server only (BDK Java: getExtAppSessionAuthClient; symauth.OBOConfig has
// no key manager URL), yet needMutualTLS also demands an https key
// manager: an extension app's file whose keyManager section is plain http
// (a key manager the app never calls) cannot log the app in.
func TestReviewCertificateOBODoesNotNeedTheKeyManager(t *testing.T) {
	srv := newPod(t)
	appCert, err := srv.IssueAppCertificate("cert-app")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.InstallApp("cert-app", botName); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "app.pem": certAndKeyPEM(t, appCert)})
	text := serverKeys(srv) + "keyManager:\n  scheme: http\n  host: km.example.com\n  port: 8080\n" + "app:\n  certificate:\n    path: app.pem\n"
	cfg := loadConfig(t, writeConfig(t, dir, text))
	obo, err := cfg.OBO()
	if err != nil {
		t.Fatalf("OBO of a certificate app, which never calls the key manager: %v", err)
	}
	client := &http.Client{Transport: symauth.NewTransport(oboUsername(t, obo, botName), srv.Client().Transport)}
	formsSessionInfo(t, client, cfg.PodURL(), botName)
}

// A Java trust store is read by TrustManagerFactory, which trusts the
// certificate entries and also the first certificate of each private key
// entry's chain (TrustStoreUtil.getTrustedCerts). A JKS store that holds
// the pod's CA as a key entry (one key store used as both, as many
// deployments have) works with BDK Java; javaKeyStoreTrust keeps trusted
// certificate entries only and Load fails with "holds no trusted
// certificate".
func TestReviewJKSTrustStoreTrustsKeyEntries(t *testing.T) {
	srv := newPod(t)
	ks := keystore.New()
	der, err := x509.MarshalPKCS8PrivateKey(botKey())
	if err != nil {
		t.Fatal(err)
	}
	entry := keystore.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: der,
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: caOf(t, srv).Raw}}}
	if err := ks.SetPrivateKeyEntry("pod-ca", entry, []byte("changeit")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte("changeit")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"truststore.jks": buf.Bytes(), "keys/bot.pem": pemKey(t, botKey())})
	text := strings.Replace(serverKeys(srv), "path: ca.pem", "path: truststore.jks\n    password: changeit", 1) + rsaBotSection
	cfg, err := bdkconfig.Load(writeConfig(t, dir, text), bdkconfig.WithLogger(quietLogger()))
	if err != nil {
		t.Fatalf("a JKS trust store whose CA is a key entry's certificate, which Java trusts: %v", err)
	}
	formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), botName)
}

// hugeInconsistentKey is a PKCS#1 key with a modulus of n bytes and small,
// unrelated other numbers.
func hugeInconsistentKey(t testing.TB, n int) []byte {
	t.Helper()
	mod := make([]byte, n)
	if _, err := rand.Read(mod); err != nil {
		t.Fatal(err)
	}
	mod[0] |= 0x80
	mod[n-1] |= 1
	type pkcs1 struct {
		Version                   int
		N                         *big.Int
		E                         int
		D, P, Q, Dp, Dq, Qinverse *big.Int
	}
	der, err := asn1.Marshal(pkcs1{N: new(big.Int).SetBytes(mod), E: 65537, D: big.NewInt(3), P: big.NewInt(5), Q: big.NewInt(7),
		Dp: big.NewInt(1), Dq: big.NewInt(1), Qinverse: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
}

// The issue, Bounds: "a 1.2 MB PEM key with a huge inconsistent modulus
// takes 45 s and 6 GiB in ParsePrivateKey: bound the key size you accept."
// Neither bdkconfig.privateKey nor symauth.ParsePrivateKey bounds it: a
// 44 KB key file (a 256 Kibit modulus) holds Load for seconds before
// "malformed", and the time grows faster than the square of the size
// (the 4 MiB the Config accepts is hours). No real key is above 16 Kibit.
func TestReviewHugeRSAKeyRefusedQuickly(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"bot.pem": hugeInconsistentKey(t, 32<<10)})
	path := writeConfig(t, dir, "host: pod.example.com\nbot:\n  username: b\n  privateKey:\n    path: bot.pem\n")
	start := time.Now()
	_, err := bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
	took := time.Since(start)
	wantError(t, err, "bot.privateKey.path")
	if took > 250*time.Millisecond {
		t.Errorf("Load of a key with a 256 Kibit modulus took %v before it was refused (%v); bound the key size before parsing", took, err)
	}
}

// The issue, Bounds: "Parse has a size cap (64 MiB of YAML was still
// parsing after 20 s)"; the brief: huge documents within time bounds. The
// cap is 4 MiB, but defaultHeaders reads each of its n headers with
// section.str, which looks the name up by scanning the whole mapping (and
// checks it is not given twice): n² work. 8 000 headers (90 KB) take
// seconds; the 4 MiB the cap allows (≈ 350 000 headers, in each of five
// sections) takes hours.
func TestReviewManyDefaultHeadersParseInLinearTime(t *testing.T) {
	var b strings.Builder
	b.WriteString("host: pod.example.com\ndefaultHeaders:\n")
	for i := 0; i < 8000; i++ {
		fmt.Fprintf(&b, "  X-H%d: v\n", i)
	}
	start := time.Now()
	_, err := bdkconfig.Parse([]byte(b.String()), bdkconfig.WithLogger(quietLogger()))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > time.Second {
		t.Errorf("Parse of %d KB with 8000 defaultHeaders took %v: the headers are read in quadratic time", b.Len()>>10, took)
	}
}

// BdkRetryConfig.getMultiplier: null or below 1 is 2, anything else is
// used as it is; resilience4j has no upper bound. The issue: "retry
// defaults and ranges as BDK's". A BDK file with multiplier 150 loads in
// BDK Java and is refused by Load ("want a number from 1 to 100"), where
// symauth's own cap of 100 could apply (with a warning), as a multiplier
// below 1 becomes 2.
func TestReviewRetryMultiplierAboveHundredLoads(t *testing.T) {
	cfg, err := bdkconfig.Parse([]byte("host: pod.example.com\nretry:\n  multiplier: 150\n"), bdkconfig.WithLogger(quietLogger()))
	if err != nil {
		t.Fatalf("BDK Java reads multiplier 150; Parse: %v", err)
	}
	if cfg.Retry.Multiplier < 100 {
		t.Errorf("Retry.Multiplier = %v", cfg.Retry.Multiplier)
	}
}

// PROTOCOL.md, SKD: "No agent configured" in BDK Java means the agent
// section sets none of scheme, host, port, context; AuthenticatorFactoryImpl
// passes config.getAgent().overridesParentConfig(), which loadBalancing
// does not change. An agent section with loadBalancing only is thus "not
// configured": the session token's claim alone decides and
// /agent/v1/info is never called. loadBalancedAgent marks the first node
// explicit, so the Config asks it, and an answer it cannot read (404 here)
// costs a key manager login that BDK Java does not make.
func TestReviewLoadBalancedAgentIsNotConfiguredForSKD(t *testing.T) {
	srv, err := symauthtest.Start(symauthtest.Options{SimplifiedKeyDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(symauthtest.PathAgentInfo, symauthtest.Fault{Status: http.StatusNotFound})
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	agent := fmt.Sprintf("agent:\n  loadBalancing:\n    mode: roundRobin\n    nodes:\n      - host: %s\n        port: %s\n", u.Hostname(), u.Port())
	cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+agent))
	sess, err := cfg.Session()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if asked := srv.Calls(symauthtest.PathAgentInfo); asked != 0 {
		t.Errorf("the load-balanced agent was asked its version %d times; BDK Java asks none", asked)
	}
	if _, km := loginCalls(srv); km != 0 {
		t.Errorf("%d key manager logins; BDK Java makes none (SKD claim alone)", km)
	}
}

// Config's docs: an SDK 1.x file's "Errors name its flat keys"; the last
// commit: "SDK 1.x errors name the flat keys, present or not"; the tests
// of forms_test.go refuse "a BDK 2 key this SDK 1.x file does not have".
// The errors of a bot or app that has no key or certificate are written
// with s.key (not p.name) and name BDK 2 keys: "bot.privateKey: missing:
// give bot.username and bot.privateKey (RSA), or bot.certificate".
func TestReviewSDK1MissingCredentialErrorsNameFlatKeys(t *testing.T) {
	bdk2 := []string{"bot.privateKey", "bot.certificate", "bot.username", "app.privateKey", "app.certificate", "app.appId"}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"bot.pem": pemKey(t, botKey())})
	for _, c := range []struct{ name, text string }{
		{"bot without a key", `{"podHost": "pod.example.com", "keyAuthHost": "pod.example.com", "botUsername": "b"}`},
		{"no bot", `{"podHost": "pod.example.com", "keyAuthHost": "pod.example.com"}`},
		{"app without a key", `{"podHost": "pod.example.com", "keyAuthHost": "pod.example.com", "botUsername": "b",
			"botPrivateKeyPath": "` + dir + `/", "botPrivateKeyName": "bot.pem", "appId": "my-app"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := bdkconfig.Parse([]byte(c.text), bdkconfig.WithLogger(quietLogger()))
			if err != nil {
				t.Fatal(err)
			}
			_, sessionErr := cfg.Session()
			_, oboErr := cfg.OBO()
			for _, err := range []error{sessionErr, oboErr} {
				if err == nil {
					continue
				}
				for _, k := range bdk2 {
					if strings.Contains(err.Error(), k) {
						t.Errorf("error %q of an SDK 1.x file names %s, a BDK 2 key", err, k)
					}
				}
			}
		})
	}
}

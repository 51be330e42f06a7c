package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth/internal/fileread"
	"github.com/symauth/symauth/symauthtest"
)

// p12Password is the password of the bot.p12 the emulator writes, the one
// Java keystores use by default.
const p12Password = "changeit"

// emulatorFlags are the emulator's flags.
type emulatorFlags struct {
	addr, dir, bot, agentVersion string
	keyBits                      int
	sessionTTL                   time.Duration
	skd                          bool
	users                        []userKey
}

// userKey is a --user NAME=PUBLIC.pem registration.
type userKey struct {
	name string
	key  *rsa.PublicKey
}

func runEmulator(ctx context.Context, args []string, out, errOut io.Writer) int {
	var f emulatorFlags
	fs := newFlagSet("emulator", "[flags]",
		"Serves a local Symphony over HTTPS on --addr: the pod (/login, /pod), key manager (/relay,\n"+
			"/keyauth), session auth (/sessionauth) and agent (/agent), with mutual TLS for the\n"+
			"certificate logins. With --dir it writes what a client needs there: ca.pem, bot-private.pem,\n"+
			"bot-public.pem, bot.p12 (password "+p12Password+") and a BDK 2.x config.yaml (for --config).\n"+
			"Each login and each refused call is logged to stderr. Stops on SIGINT or SIGTERM.", errOut)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "listen `address`")
	fs.StringVar(&f.dir, "dir", "", "write the bot's credentials, the CA and config.yaml into this `directory`")
	fs.StringVar(&f.bot, "bot", "symauth-bot", "the bot's `username` (with --dir)")
	fs.IntVar(&f.keyBits, "key-bits", 4096, "size of the bot's RSA key (with --dir)")
	fs.DurationVar(&f.sessionTTL, "session-ttl", 0, "end sessions this long after login (0: never)")
	fs.StringVar(&f.agentVersion, "agent-version", symauthtest.DefaultAgentVersion, "what GET /agent/v1/info reports")
	fs.BoolVar(&f.skd, "skd", false, "issue session tokens allowing simplified key delivery")
	fs.Func("user", "register another user: `NAME=PUBLIC.pem` (repeatable)", func(v string) error {
		u, err := parseUserFlag(v)
		if err == nil {
			f.users = append(f.users, u)
		}
		return err
	})
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if f.keyBits < 2048 {
		return fail(errOut, "emulator", fmt.Errorf("--key-bits %d: at least 2048", f.keyBits))
	}
	if f.sessionTTL < 0 {
		return fail(errOut, "emulator", errors.New("--session-ttl must not be negative"))
	}
	logger := log.New(errOut, "", log.Ltime|log.Lmicroseconds)
	srv, err := symauthtest.Start(symauthtest.Options{
		Addr:                  f.addr,
		SessionLifetime:       f.sessionTTL,
		Logf:                  logger.Printf,
		AgentVersion:          f.agentVersion,
		SimplifiedKeyDelivery: f.skd,
	})
	if err != nil {
		return fail(errOut, "emulator", err)
	}
	defer srv.Close()
	for _, u := range f.users {
		if _, err := srv.RegisterUser(u.name, u.key); err != nil {
			return fail(errOut, "emulator", err)
		}
		logger.Printf("registered user %q", u.name)
	}
	if f.dir != "" {
		if err := writeEmulatorFiles(srv, f, errOut); err != nil {
			return fail(errOut, "emulator", err)
		}
	}
	fmt.Fprintf(errOut, "symauth emulator: serving on %s (Ctrl-C to stop)\n", srv.URL)
	if f.dir != "" {
		fmt.Fprintf(errOut, "try:  symauth whoami --pod %s --user %s --key %s --ca %s\n",
			srv.URL, f.bot, filepath.Join(f.dir, "bot-private.pem"), filepath.Join(f.dir, "ca.pem"))
		fmt.Fprintf(errOut, "  or: symauth whoami --config %s\n", filepath.Join(f.dir, "config.yaml"))
	}
	<-ctx.Done()
	fmt.Fprintln(errOut, "symauth emulator: stopping")
	return exitOK
}

func parseUserFlag(v string) (userKey, error) {
	name, file, ok := strings.Cut(v, "=")
	if !ok || name == "" || file == "" {
		return userKey{}, fmt.Errorf("want NAME=PUBLIC.pem, got %q", v)
	}
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return userKey{}, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return userKey{}, fmt.Errorf("%s: no PEM block", file)
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return userKey{}, fmt.Errorf("%s: a %s, not a public key (BEGIN PUBLIC KEY)", file, block.Type)
	}
	if err != nil {
		return userKey{}, fmt.Errorf("%s: %w", file, err)
	}
	key, ok := pub.(*rsa.PublicKey)
	if !ok {
		return userKey{}, fmt.Errorf("%s: not an RSA public key", file)
	}
	return userKey{name: name, key: key}, nil
}

// writeEmulatorFiles creates the bot (an RSA key and a client certificate) and
// writes its credentials, the CA and a BDK config into f.dir.
func writeEmulatorFiles(srv *symauthtest.Server, f emulatorFlags, progress io.Writer) error {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fmt.Fprintf(progress, "symauth emulator: generating a %d-bit RSA key for %q…\n", f.keyBits, f.bot)
	key, err := rsa.GenerateKey(rand.Reader, f.keyBits)
	if err != nil {
		return err
	}
	if _, err := srv.RegisterUser(f.bot, &key.PublicKey); err != nil {
		return err
	}
	cert, err := srv.IssueClientCertificate(f.bot)
	if err != nil {
		return err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	p12, err := pkcs12.Modern.Encode(cert.PrivateKey, cert.Leaf, nil, p12Password)
	if err != nil {
		return err
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"ca.pem", srv.CACertPEM(), 0o644},
		{"bot-private.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600},
		{"bot-public.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644},
		{"bot.p12", p12, 0o600},
		{"config.yaml", bdkConfig(u, f.bot, dir), 0o644},
	}
	for _, file := range files {
		if err := os.WriteFile(filepath.Join(dir, file.name), file.data, file.perm); err != nil {
			return err
		}
	}
	fmt.Fprintf(progress, "symauth emulator: wrote ca.pem, bot-private.pem, bot-public.pem, bot.p12 (password %s) and config.yaml to %s\n", p12Password, dir)
	return nil
}

// bdkConfig is a BDK 2.x configuration pointing every service at the emulator.
func bdkConfig(u *url.URL, bot, dir string) []byte {
	port := u.Port()
	return fmt.Appendf(nil, `# BDK 2.x configuration for the symauth emulator at %[1]s.
# pod, agent, keyManager and sessionAuth inherit scheme, host and port.
scheme: https
host: %[2]s
port: %[3]s

bot:
  username: %[4]s
  privateKey:
    path: %[5]s
  # For a certificate login, use this instead of privateKey:
  # certificate:
  #   path: %[6]s
  #   password: %[7]s

ssl:
  trustStore:
    path: %[8]s
`, u.String(), u.Hostname(), port, bot,
		filepath.Join(dir, "bot-private.pem"), filepath.Join(dir, "bot.p12"), p12Password, filepath.Join(dir, "ca.pem"))
}

package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	sessionTTL, datafeedWait     time.Duration
	skd, keep                    bool
	users                        []userKey
	apps, extensionApps          []userKey
}

// userKey is a --user NAME=PUBLIC.pem registration, or an --app or
// --extension-app ID=PUBLIC.pem one.
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
			"bot-public.pem, bot.p12 (password "+p12Password+") and a BDK 2.x config.yaml (for --config),\n"+
			"and the CA's key, ca-key.pem, for --keep. Keys are written readable by their owner only.\n"+
			"Each login and each refused call is logged to stderr. SIGHUP ends every session now (the\n"+
			"next call with one of their tokens gets 401; datafeeds stay). Stops on SIGINT or SIGTERM.", errOut)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "listen `address` (0.0.0.0:PORT listens on every interface: other machines can reach it)")
	fs.StringVar(&f.dir, "dir", "", "write the bot's credentials, the CA and config.yaml into this `directory`")
	fs.BoolVar(&f.keep, "keep", false, "with --dir: reuse the CA, the bot's key and config.yaml found there instead of\nreplacing them (writing only those missing), so clients configured earlier keep working")
	fs.StringVar(&f.bot, "bot", "symauth-bot", "the bot's `username` (with --dir)")
	fs.IntVar(&f.keyBits, "key-bits", 4096, "size of the bot's RSA key (with --dir)")
	fs.DurationVar(&f.sessionTTL, "session-ttl", 0, "end sessions this long after login (0: never)")
	fs.DurationVar(&f.datafeedWait, "datafeed-wait", symauthtest.DefaultDatafeedReadWait,
		"how long a datafeed read waits for an event before it answers none (a real agent's: 30s)")
	fs.StringVar(&f.agentVersion, "agent-version", symauthtest.DefaultAgentVersion, "what GET /agent/v1/info reports")
	fs.BoolVar(&f.skd, "skd", false, "issue session tokens allowing simplified key delivery")
	fs.Func("user", "register another user: `NAME=PUBLIC.pem` (repeatable)", keyFlag(&f.users, "NAME"))
	fs.Func("app", "register an on-behalf-of app with its RSA key: `ID=PUBLIC.pem` (repeatable), installed\n"+
		"for the bot and every --user: it logs in on /login/pubkey/app/authenticate, then acts\n"+
		"for them on /login/pubkey/app/user/{uid}/authenticate and …/username/{name}/authenticate", keyFlag(&f.apps, "ID"))
	fs.Func("extension-app", "register an extension app with its RSA key: `ID=PUBLIC.pem` (repeatable), installed\n"+
		"for no one: it logs in on /login/v1/pubkey/app/authenticate/extensionApp (circle of\n"+
		"trust); GET /pod/v1/podcert serves the certificate that verifies the pod's JWTs", keyFlag(&f.extensionApps, "ID"))
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if f.keyBits < 2048 {
		return fail(errOut, "emulator", fmt.Errorf("--key-bits %d: at least 2048", f.keyBits))
	}
	if f.sessionTTL < 0 {
		return fail(errOut, "emulator", errors.New("--session-ttl must not be negative"))
	}
	if f.datafeedWait <= 0 {
		return fail(errOut, "emulator", errors.New("--datafeed-wait must be positive"))
	}
	if f.keep && f.dir == "" {
		return fail(errOut, "emulator", errors.New("--keep needs --dir"))
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return fail(errOut, "emulator", fmt.Errorf("--addr: %w", err))
	}
	opts := symauthtest.Options{
		Addr:                  f.addr,
		SessionLifetime:       f.sessionTTL,
		DatafeedReadWait:      f.datafeedWait,
		AgentVersion:          f.agentVersion,
		SimplifiedKeyDelivery: f.skd,
		StrictStreams:         true, // as a real agent: messages go to streams made with /pod/v1/im/create
	}
	var kept bool // the CA in --dir is reused
	if f.keep {
		if opts.CACertPEM, opts.CAKeyPEM, err = readCA(f.dir); err != nil {
			return fail(errOut, "emulator", err)
		}
		kept = opts.CACertPEM != nil
	}
	// SIGHUP is caught before the server starts, so that it never ends the
	// process once "serving on" is printed.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	logger := log.New(errOut, "", log.Ltime|log.Lmicroseconds)
	opts.Logf = logger.Printf
	srv, err := symauthtest.Start(opts)
	if err != nil {
		return fail(errOut, "emulator", err)
	}
	defer srv.Close()
	if err := registerEmulatorUsers(srv, f, kept, logger, errOut); err != nil {
		return fail(errOut, "emulator", err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
		fmt.Fprintf(errOut, "symauth emulator: warning: --addr %s listens on every network interface, on port %s:\n"+
			"  other machines that reach this one can log in to it (its TLS certificate names localhost, 127.0.0.1 and ::1 only)\n",
			f.addr, port)
	}
	fmt.Fprintf(errOut, "symauth emulator: serving on %s (Ctrl-C to stop, SIGHUP to end all sessions)\n", srv.URL)
	if f.dir != "" {
		fmt.Fprintf(errOut, "try:  symauth whoami --pod %s --user %s --key %s --ca %s\n",
			srv.URL, f.bot, filepath.Join(f.dir, "bot-private.pem"), filepath.Join(f.dir, "ca.pem"))
		fmt.Fprintf(errOut, "  or: symauth whoami --config %s\n", filepath.Join(f.dir, "config.yaml"))
	}
	for {
		select {
		case <-hup:
			logger.Printf("SIGHUP: ended all sessions (%d were live)", srv.RevokeSessions())
		case <-ctx.Done():
			fmt.Fprintln(errOut, "symauth emulator: stopping")
			return exitOK
		}
	}
}

// registerEmulatorUsers registers the --user users, the bot and its files
// (with --dir), and the apps.
func registerEmulatorUsers(srv *symauthtest.Server, f emulatorFlags, keptCA bool, logger *log.Logger, progress io.Writer) error {
	var installers []string
	for _, u := range f.users {
		if _, err := srv.RegisterUser(u.name, u.key); err != nil {
			return err
		}
		logger.Printf("registered user %q", u.name)
		installers = append(installers, u.name)
	}
	if f.dir != "" {
		if err := writeEmulatorFiles(srv, f, keptCA, progress); err != nil {
			return err
		}
		installers = append(installers, f.bot)
	}
	for _, a := range f.apps {
		if err := srv.RegisterApp(a.name, a.key); err != nil {
			return err
		}
		if err := srv.InstallApp(a.name, installers...); err != nil {
			return err
		}
		logger.Printf("registered on-behalf-of app %q, installed for %s", a.name, strings.Join(quoted(installers), ", "))
	}
	for _, a := range f.extensionApps {
		if err := srv.RegisterApp(a.name, a.key); err != nil {
			return err
		}
		logger.Printf("registered extension app %q", a.name)
	}
	return nil
}

func quoted(names []string) []string {
	if len(names) == 0 {
		return []string{"no one"}
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return q
}

// keyFlag is the flag.Func of a repeatable NAME=PUBLIC.pem flag.
func keyFlag(dst *[]userKey, name string) func(string) error {
	return func(v string) error {
		u, err := parseKeyFlag(v, name)
		if err == nil {
			*dst = append(*dst, u)
		}
		return err
	}
}

func parseKeyFlag(v, what string) (userKey, error) {
	name, file, ok := strings.Cut(v, "=")
	if !ok || name == "" || file == "" {
		return userKey{}, fmt.Errorf("want %s=PUBLIC.pem, got %q", what, v)
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

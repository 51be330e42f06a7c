package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

func runToken(ctx context.Context, args []string, out, errOut io.Writer) int {
	var lf loginFlags
	fs := newFlagSet("token", "(--config FILE | --pod URL --user NAME --key FILE | --cert FILE --sessionauth URL) [flags]",
		"Logs the bot in and prints its tokens on stdout, as shell export lines (default) or JSON:\n\n"+
			"  eval \"$(symauth token --pod https://acme.symphony.com --user my-bot --key bot-private.pem)\"\n"+
			"  eval \"$(symauth token --config config.yaml)\"     # the same, from a BDK 2.x config\n"+
			"  curl -H \"sessionToken: $SYMPHONY_SESSION_TOKEN\" https://acme.symphony.com/pod/v2/sessioninfo\n\n"+
			"This is the only command that prints tokens.", errOut)
	lf.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON object instead of export lines")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	l, err := lf.newLogin()
	if err != nil {
		return fail(errOut, "token", err)
	}
	ctx, cancel := context.WithTimeout(ctx, lf.timeout)
	defer cancel()
	tok, err := l.source.Token(ctx)
	if err != nil {
		return l.fail(errOut, "token", err)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		// Token's own JSON form is redacted: spell the values out on purpose.
		_ = enc.Encode(struct {
			SessionToken       string `json:"sessionToken"`
			KeyManagerToken    string `json:"keyManagerToken,omitempty"`
			AuthorizationToken string `json:"authorizationToken,omitempty"`
		}{tok.SessionToken, tok.KeyManagerToken, tok.AuthorizationToken})
		return exitOK
	}
	fmt.Fprintf(out, "export SYMPHONY_SESSION_TOKEN=%s\n", shellQuote(tok.SessionToken))
	if tok.KeyManagerToken != "" {
		fmt.Fprintf(out, "export SYMPHONY_KEY_MANAGER_TOKEN=%s\n", shellQuote(tok.KeyManagerToken))
	}
	if tok.AuthorizationToken != "" {
		fmt.Fprintf(out, "export SYMPHONY_AUTHORIZATION=%s\n", shellQuote(tok.AuthorizationToken))
	}
	return exitOK
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// flagNames maps the configuration field names in symauth's errors to the
// flags that set them.
var flagNames = strings.NewReplacer(
	"RSAConfig.PodURL", "--pod", "RSAConfig.KeyManagerURL", "--km", "RSAConfig.AgentURL", "--agent",
	"RSAConfig.Username", "--user", "RSAConfig.PrivateKey", "--key",
	"CertConfig.SessionAuthURL", "--sessionauth", "CertConfig.KeyManagerURL", "--km",
	"CertConfig.AgentURL", "--agent", "CertConfig.Certificate", "--cert",
)

// fail prints err for command cmd on errOut and returns exitFail.
func fail(errOut io.Writer, cmd string, err error) int {
	fmt.Fprintf(errOut, "symauth %s: %s\n", cmd, err)
	return exitFail
}

package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
)

// The emulator accepts a login from a client not written here: a JWT built and
// signed by openssl, carrying iat and typ as well, with exp anywhere up to 5
// minutes ahead — and refuses one further ahead, as a pod does.
func TestEmulatorAcceptsForeignClient(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	e := startEmulator(t)
	for _, tc := range []struct {
		ahead  int
		accept bool
	}{{30, true}, {180, true}, {295, true}, {400, false}} {
		out, err := exec.Command("sh", "testdata/openssl-login.sh", e.url, "symauth-bot",
			e.file("bot-private.pem"), e.file("ca.pem"), strconv.Itoa(tc.ahead)).Output() // the answer: stdout
		var answer struct{ Name, Token, Message string }
		_ = json.Unmarshal(out, &answer)
		switch {
		case tc.accept && (err != nil || answer.Name != "sessionToken" || answer.Token == ""):
			t.Errorf("exp %d s ahead: refused (%v): %s", tc.ahead, err, out)
		case !tc.accept && (err == nil || answer.Message == ""):
			t.Errorf("exp %d s ahead: accepted; a pod refuses more than 5 minutes: %s", tc.ahead, out)
		}
	}
}

package examples_test

import (
	"bytes"
	"log"
	"mime/multipart"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// streamID is a stream id shaped like Symphony's (URL-safe base64).
const streamID = "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA"

// createPath is the path of POST /agent/v4/stream/{sid}/message/create, for
// symauthtest's Calls and InjectFault.
func createPath(sid string) string {
	return "/agent/v4/stream/" + sid + "/message/create"
}

// messageForm returns the multipart/form-data body of a message create call,
// with its message field, and the body's Content-Type. The body is a
// *bytes.Buffer: http.NewRequest can re-read it (it sets GetBody), so symauth
// can replay the request after a 401.
func messageForm(messageML string) (*bytes.Buffer, string) {
	body := new(bytes.Buffer)
	w := multipart.NewWriter(body)
	if err := w.WriteField("message", messageML); err != nil {
		log.Fatal(err) // writing to a bytes.Buffer does not fail
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	return body, w.FormDataContentType()
}

// newBot starts a fake Symphony, closed at the end of the test, with a bot
// called my-bot, and returns it with the bot's RSA authenticator.
func newBot(t *testing.T) (*symauthtest.Server, *symauth.RSA) {
	t.Helper()
	pod := symauthtest.NewServer()
	t.Cleanup(pod.Close)
	key, err := pod.NewUser("my-bot")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: pod.URL, Username: "my-bot", PrivateKey: key, HTTPClient: pod.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return pod, auth
}

// symauthClient returns an http.Client that carries auth's tokens to pod.
func symauthClient(pod *symauthtest.Server, auth symauth.TokenSource) *http.Client {
	return &http.Client{Transport: symauth.NewTransport(auth, pod.Client().Transport)}
}

// wantCalls checks symauthtest's call counts.
func wantCalls(t *testing.T, pod *symauthtest.Server, want map[string]int) {
	t.Helper()
	for path, n := range want {
		if got := pod.Calls(path); got != n {
			t.Errorf("Calls(%s) = %d, want %d", path, got, n)
		}
	}
}

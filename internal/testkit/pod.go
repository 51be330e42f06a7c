package testkit

import (
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// BotName is the user NewPod registers, with RSAKey.
const BotName = "test-bot"

// AppID is the app NewOBOPod registers, with RSAKey.
const AppID = "test-app"

// NewPod starts a symauthtest server with BotName registered, closed at the
// end of the test.
func NewPod(t testing.TB) *symauthtest.Server {
	t.Helper()
	srv := symauthtest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(BotName, RSAKey().Public()); err != nil {
		t.Fatal(err)
	}
	return srv
}

// NewOBOPod is NewPod with the app AppID registered and users alice and
// bob, who installed it, and carol, who did not.
func NewOBOPod(t testing.TB) *symauthtest.Server {
	t.Helper()
	srv := NewPod(t)
	if err := srv.RegisterApp(AppID, RSAKey().Public()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := srv.RegisterUser(u, RSAKey().Public()); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.InstallApp(AppID, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	return srv
}

// LoginCalls is how many RSA logins srv has seen, at the pod and the key
// manager.
func LoginCalls(srv *symauthtest.Server) (pod, km int) {
	return srv.Calls(symauthtest.PathLogin), srv.Calls(symauthtest.PathRelay)
}

// OBOUsername is obo.Username(name), which must succeed.
func OBOUsername(t testing.TB, obo *symauth.OBO, name string) symauth.TokenSource {
	t.Helper()
	src, err := obo.Username(name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

package extapp_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const appID = "test-app"

var appKey = testkit.RSAKey

// fastRetry keeps retried calls quick in tests.
var fastRetry = symauth.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

// newOBOPod starts a server with the app registered (RSA key appKey) and
// installed for alice and bob, closed at the end of the test.
func newOBOPod(t testing.TB) *symauthtest.Server {
	t.Helper()
	srv := symauthtest.NewServer()
	t.Cleanup(srv.Close)
	if err := srv.RegisterApp(appID, appKey().Public()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := srv.RegisterUser(u, appKey().Public()); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.InstallApp(appID, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	return srv
}

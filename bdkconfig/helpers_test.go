package bdkconfig_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const botName = "test-bot"

// Shared helpers of the module's tests, under this package's short names.
var (
	botKey               = testkit.RSAKey
	get                  = testkit.Get
	localhostCertificate = testkit.LocalhostCertificate
	selfSignedFrom       = testkit.SelfSigned
	printed              = testkit.Printed
	assertNoSecrets      = testkit.AssertNoSecrets
	wantError            = testkit.WantError
)

// newPod starts a symauthtest server with botName registered, closed at the
// end of the test.
func newPod(t testing.TB) *symauthtest.Server {
	t.Helper()
	srv := symauthtest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
		t.Fatal(err)
	}
	return srv
}

// loginCalls is how many RSA logins srv has seen, at the pod and the key manager.
func loginCalls(srv *symauthtest.Server) (pod, km int) {
	return srv.Calls("/login/pubkey/authenticate"), srv.Calls("/relay/pubkey/authenticate")
}

// oboUsername is obo.Username(name), which must succeed.
func oboUsername(t testing.TB, obo *symauth.OBO, name string) symauth.TokenSource {
	t.Helper()
	src, err := obo.Username(name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

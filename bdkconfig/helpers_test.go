package bdkconfig_test

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/symauth/symauth/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const botName = testkit.BotName

// Shared helpers of the module's tests, under this package's short names.
var (
	botKey               = testkit.RSAKey
	get                  = testkit.Get
	localhostCertificate = testkit.LocalhostCertificate
	selfSignedFrom       = testkit.SelfSigned
	printed              = testkit.Printed
	assertNoSecrets      = testkit.AssertNoSecrets
	wantError            = testkit.WantError
	newPod               = testkit.NewPod
	loginCalls           = testkit.LoginCalls
	oboUsername          = testkit.OBOUsername
)

// quietLogger discards the load's warnings.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

package extapp_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const appID = testkit.AppID

var (
	appKey    = testkit.RSAKey
	newOBOPod = testkit.NewOBOPod
)

// fastRetry keeps retried calls quick in tests.
var fastRetry = symauth.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

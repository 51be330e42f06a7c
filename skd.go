package symauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/login"
)

// Simplified key delivery (SKD): agents from 24.12 work without a key manager
// token. Like BDK Java, a bot skips the key manager login when its session
// token's payload says canUseSimplifiedKeyDelivery and either no agent is
// configured or the agent reports version 24.12 or later. Any doubt — a
// payload or version that cannot be read, an agent that does not answer —
// means the key manager login happens as before.

const (
	agentInfoPath = "/agent/v1/info"

	// The first agent version with SKD.
	skdMajor, skdMinor = 24, 12
)

// What the last login found about SKD.
const (
	skdUnknown  int32 = iota // no login yet
	skdApplied               // the last login needed no key manager
	skdNotApply              // the last login needed the key manager
)

// The agent's answer to the version check is remembered for agentMemory,
// a failure included (BDK Python caches it 240 s), so that a slow or dead
// agent costs one short call, not one per login.
const agentMemory = 240 * time.Second

// agentCheckTimeout bounds the agent's version check.
var agentCheckTimeout = 2 * time.Second

// agentCheckRetry makes the agent's version check one attempt.
var agentCheckRetry = RetryPolicy{MaxAttempts: 1}

// keyDelivery decides, login after login, whether the key manager is needed.
// It is safe for concurrent use.
type keyDelivery struct {
	agentInfoURL string // "" when no agent is configured
	caller       loginCaller
	now          func() time.Time
	last         atomic.Int32                // skdUnknown, skdApplied or skdNotApply
	agent        atomic.Pointer[agentAnswer] // the agent's last answer; nil: none yet
}

// agentAnswer is what the agent's version check found, until when.
type agentAnswer struct {
	hasSKD bool // false also when the agent could not be asked
	until  time.Time
}

// skdAgent is the agent whose version SKD checks: none when skip is set.
func skdAgent(agentURL string, skip bool) string {
	if skip {
		return ""
	}
	return agentURL
}

// newKeyDelivery returns the SKD state of a bot whose agent is at agentURL
// ("" for none), asking it through caller's client with a single attempt.
func newKeyDelivery(agentURL string, caller loginCaller) *keyDelivery {
	k := &keyDelivery{caller: caller, now: time.Now}
	if agentURL != "" {
		k.agentInfoURL = agentURL + agentInfoPath
	}
	return k
}

// knownNotToApply reports whether the last login needed the key manager, so
// that the next one may call it together with the session login.
func (k *keyDelivery) knownNotToApply() bool { return k.last.Load() == skdNotApply }

// applies reports whether SKD applies to a session, so that no key manager
// login is needed, and remembers the answer for the next login. It may ask
// the agent its version: one short call, whose answer is remembered.
func (k *keyDelivery) applies(ctx context.Context, sessionToken string) bool {
	ok := sessionAllowsSKD(sessionToken) && k.agentAllowsSKD(ctx, sessionToken)
	login.ReportOf(ctx).SetSKD(ok)
	switch {
	case ctx.Err() != nil:
		// The login ended meanwhile: it learnt nothing to remember.
	case ok:
		k.last.Store(skdApplied)
	default:
		k.last.Store(skdNotApply)
	}
	return ok
}

// agentAllowsSKD reports whether no agent is configured or the agent's
// version has SKD, from a remembered answer when there is one.
func (k *keyDelivery) agentAllowsSKD(ctx context.Context, sessionToken string) bool {
	if k.agentInfoURL == "" {
		return true
	}
	now := k.now()
	if a := k.agent.Load(); a != nil && now.Before(a.until) {
		return a.hasSKD
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, agentCheckTimeout)
	defer cancel()
	var info agentInfo
	err := k.caller.call(ctx, login.Request{
		Method: http.MethodGet, URL: k.agentInfoURL, Endpoint: agentInfoPath,
		Header: http.Header{canonicalSessionToken: {sessionToken}},
	}, &info)
	hasSKD := err == nil && versionHasSKD(info.Version) // doubt: use the key manager
	// A login that ended during the check learnt nothing about the agent.
	if parent.Err() == nil {
		k.agent.Store(&agentAnswer{hasSKD: hasSKD, until: now.Add(agentMemory)})
	}
	return hasSKD
}

// agentInfo is the part of GET /agent/v1/info that matters here.
type agentInfo struct {
	Version string `json:"version"`
}

func (a *agentInfo) Required() (string, string) { return a.Version, "version" }

// agentVersion is BDK Java's pattern of an agent version: "Agent-24.12.2-…".
var agentVersion = regexp.MustCompile(`^Agent-(\d+)\.(\d+)\..*`)

// versionHasSKD reports whether an agent version such as
// "Agent-24.12.2-build" is 24.12 or later; false when it does not match
// BDK's pattern, as in BDK.
func versionHasSKD(version string) bool {
	m := agentVersion.FindStringSubmatch(version)
	if m == nil {
		return false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > skdMajor || major == skdMajor && minor >= skdMinor
}

// sessionAllowsSKD reports whether a session token's payload, decoded without
// verification, says canUseSimplifiedKeyDelivery: true. Any other token,
// including an opaque one, does not.
func sessionAllowsSKD(sessionToken string) bool {
	var claims struct {
		SKD bool `json:"canUseSimplifiedKeyDelivery"`
	}
	return decodeJWTPayload(sessionToken, &claims) == nil && claims.SKD
}

// errNotJWT is returned by decodeJWTPayload for anything but a JWT.
var errNotJWT = errors.New("not a JWT")

// decodeJWTPayload decodes the payload of a JWT into v without verifying its
// signature. It is only used to read hints (SKD, expiry), never to trust.
func decodeJWTPayload(token string, v any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return errNotJWT
	}
	return json.Unmarshal(payload, v)
}

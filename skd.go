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

// States of keyDelivery.agent.
const (
	agentUnchecked int32 = iota
	agentHasSKD
	agentTooOld
)

// keyDelivery decides, login after login, whether the key manager is needed.
// It caches what the agent's version allows. It is safe for concurrent use.
type keyDelivery struct {
	agentInfoURL string       // "" when no agent is configured
	applied      atomic.Bool  // SKD applied to the last login
	agent        atomic.Int32 // agentUnchecked until the agent answered
}

func newKeyDelivery(agentURL string) *keyDelivery {
	k := &keyDelivery{}
	if agentURL != "" {
		k.agentInfoURL = agentURL + agentInfoPath
	}
	return k
}

// lastApplied reports whether SKD applied to the last login.
func (k *keyDelivery) lastApplied() bool { return k.applied.Load() }

// applies reports whether SKD applies to a session, so that no key manager
// login is needed, and remembers the answer for the next login. It may ask the
// agent its version, once.
func (k *keyDelivery) applies(ctx context.Context, caller loginCaller, sessionToken string) bool {
	ok := sessionAllowsSKD(sessionToken) && k.agentAllowsSKD(ctx, caller, sessionToken)
	k.applied.Store(ok)
	return ok
}

// agentAllowsSKD reports whether no agent is configured or the agent's
// version has SKD. A definite answer from the agent is cached.
func (k *keyDelivery) agentAllowsSKD(ctx context.Context, caller loginCaller, sessionToken string) bool {
	if k.agentInfoURL == "" {
		return true
	}
	switch k.agent.Load() {
	case agentHasSKD:
		return true
	case agentTooOld:
		return false
	}
	var info agentInfo
	err := caller.call(ctx, login.Request{
		Method: http.MethodGet, URL: k.agentInfoURL, Endpoint: agentInfoPath,
		Header: http.Header{canonicalSessionToken: {sessionToken}},
	}, &info)
	if err != nil {
		return false // doubt: use the key manager, ask again next time
	}
	if versionHasSKD(info.Version) {
		k.agent.Store(agentHasSKD)
		return true
	}
	k.agent.Store(agentTooOld)
	return false
}

// agentInfo is the part of GET /agent/v1/info that matters here.
type agentInfo struct {
	Version string `json:"version"`
}

func (a *agentInfo) Required() (string, string) { return a.Version, "version" }

var agentVersion = regexp.MustCompile(`(\d+)\.(\d+)`)

// versionHasSKD reports whether an agent version such as
// "Agent-24.12.2-build" is 24.12 or later; false when it cannot be read.
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

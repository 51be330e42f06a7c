package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth"
)

// SequentialLogin is the RSA login of the official SDKs, the peer of the
// re-login comparison: sign a JWT, POST it to the pod's
// /login/pubkey/authenticate, and once that has answered, POST it to the key
// manager's /relay/pubkey/authenticate. It signs one JWT for both calls (the
// SDKs sign one per call, which only makes them slower), and does not retry.
// It is a TokenSource that logs in on every call, safe for concurrent use.
type SequentialLogin struct {
	PodURL        string
	KeyManagerURL string
	Username      string
	Key           *rsa.PrivateKey
	Client        *http.Client
}

// Token logs in: one call after the other.
func (s *SequentialLogin) Token(ctx context.Context) (*symauth.Token, error) {
	claims := jwt.RegisteredClaims{
		Subject:   s.Username,
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(240 * time.Second)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(s.Key)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{"token": signed})
	if err != nil {
		return nil, err
	}
	session, err := s.call(ctx, s.PodURL+"/login/pubkey/authenticate", body)
	if err != nil {
		return nil, err
	}
	keyManager, err := s.call(ctx, s.KeyManagerURL+"/relay/pubkey/authenticate", body)
	if err != nil {
		return nil, err
	}
	return &symauth.Token{SessionToken: session, KeyManagerToken: keyManager}, nil
}

// call POSTs body to url and returns the "token" of the 200 answer.
func (s *SequentialLogin) call(ctx context.Context, url string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("bench: login at %s: HTTP %d", url, resp.StatusCode)
	}
	var answer struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.Token == "" {
		return "", fmt.Errorf("bench: login at %s: no token in the answer", url)
	}
	return answer.Token, nil
}

// isAgentPath reports whether path is on the Agent API, as symauth decides
// where keyManagerToken goes.
func isAgentPath(path string) bool { return strings.Contains(path, "/agent/") }

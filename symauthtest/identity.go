package symauthtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Fixed parts of user identity JWTs.
const (
	identityIssuer    = "Symphony Communication Services LLC."
	identityCompany   = "symauthtest" // as GET /pod/v2/sessioninfo says
	identityCompanyID = "130"         // a tenant id; any string will do
	identityLocation  = "London"
)

// podCertificate is the pod API's PodCertificate.
type podCertificate struct {
	Certificate string `json:"certificate"`
}

// identityUser is the "user" claim of a user identity JWT, as the client
// extension API gives it to an extension app's front end.
type identityUser struct {
	ID             int64  `json:"id"`
	EmailAddress   string `json:"emailAddress"`
	Username       string `json:"username"`
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	DisplayName    string `json:"displayName"`
	Company        string `json:"company"`
	CompanyID      string `json:"companyId"`
	Location       string `json:"location"`
	AvatarURL      string `json:"avatarUrl"`
	AvatarSmallURL string `json:"avatarSmallUrl"`
}

// makePodCert issues the certificate of the server's JWT signing key, signed
// by the server's CA, in PEM form.
func (s *Server) makePodCert() (string, error) {
	key, err := s.signer()
	if err != nil {
		return "", err
	}
	certPEM, err := s.ca.signingCertificate(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(certPEM), nil
}

// handlePodCert serves GET /pod/v1/podcert: the PEM certificate whose public
// key verifies the JWTs the pod signs (user identity JWTs, session tokens,
// bearer tokens). The pod spec declares no sessionToken for it, so it needs
// no token.
func (s *Server) handlePodCert(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	certPEM, err := s.podCert()
	if err != nil {
		s.logf("pod certificate failed on %s: %v", r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot make the pod certificate")
		return
	}
	writeJSON(w, http.StatusOK, podCertificate{Certificate: certPEM})
}

// IssueUserIdentityJWT returns the user identity JWT that Symphony's client
// extension API gives the front end of extension app appID for the user
// called username: RS512, signed with the server's key (whose certificate
// PathPodCert serves), claims aud = appID, sub = the user id as a JSON
// number (as real pods write it: BDK Java's test payload has
// "sub":699220675788807),
// iss = "Symphony Communication Services LLC.", iat and exp = now + lifetime
// (per Options.Now; a lifetime <= 0 makes an already expired JWT), and user,
// an object with the user's id, emailAddress, username, firstName,
// lastName, displayName, company, companyId, location, avatarUrl and
// avatarSmallUrl, filled plausibly from the registered user. It fails if the
// app or the user is not registered. The user need not have installed the
// app. Safe for concurrent use.
func (s *Server) IssueUserIdentityJWT(appID, username string, lifetime time.Duration) (string, error) {
	if s.apps.lookup(appID) == nil {
		return "", fmt.Errorf("symauthtest: IssueUserIdentityJWT: unknown app %s", shown(appID))
	}
	u := s.users.lookup(username)
	if u == nil {
		return "", fmt.Errorf("symauthtest: IssueUserIdentityJWT: unknown user %s", shown(username))
	}
	key, err := s.signer()
	if err != nil {
		return "", fmt.Errorf("symauthtest: IssueUserIdentityJWT: %w", err)
	}
	now := s.now()
	first, last := nameParts(u.name)
	avatars := s.URL + "/avatars/" + strconv.FormatInt(u.id, 10)
	token, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
		"aud": appID,
		"sub": u.id, // a JSON number, as real pods send it
		"iss": identityIssuer,
		"iat": now.Unix(),
		"exp": now.Add(lifetime).Unix(),
		"user": identityUser{
			ID:             u.id,
			EmailAddress:   emailOf(u),
			Username:       u.name,
			FirstName:      first,
			LastName:       last,
			DisplayName:    u.name, // as GET /pod/v2/sessioninfo says
			Company:        identityCompany,
			CompanyID:      identityCompanyID,
			Location:       identityLocation,
			AvatarURL:      avatars + "/150.png",
			AvatarSmallURL: avatars + "/50.png",
		},
	}).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("symauthtest: IssueUserIdentityJWT: sign: %w", err)
	}
	return token, nil
}

// nameParts guesses a first and last name from a username: the part before
// any "@", split at its first ".", "_" or "-" ("jane.doe" gives "jane" and
// "doe"); a name without a separator is all first name.
func nameParts(username string) (first, last string) {
	local, _, _ := strings.Cut(username, "@")
	if i := strings.IndexAny(local, "._-"); i > 0 && i < len(local)-1 {
		return local[:i], local[i+1:]
	}
	return local, ""
}

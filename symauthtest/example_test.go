package symauthtest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth/symauthtest"
)

// A bot logs in with its RSA key, then asks the pod who it is.
func Example() {
	srv := symauthtest.NewServer()
	defer srv.Close()

	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	// The login JWT: RS512, sub = username, exp at most 5 minutes ahead.
	loginJWT, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
		"sub": "my-bot",
		"exp": time.Now().Add(4 * time.Minute).Unix(),
	}).SignedString(key)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := srv.Client().Post(srv.URL+symauthtest.PathLogin, "application/json",
		strings.NewReader(`{"token":"`+loginJWT+`"}`))
	if err != nil {
		log.Fatal(err)
	}
	var token struct{ Name, Token string }
	err = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, token.Name)

	req, err := http.NewRequest(http.MethodGet, srv.URL+symauthtest.PathSessionInfo, nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("sessionToken", token.Token)
	resp, err = srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var me struct{ Username string }
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, me.Username)
	// Output:
	// 200 sessionToken
	// 200 my-bot
}

// A fault makes the next call fail; Calls counts it.
func ExampleServer_InjectFault() {
	srv := symauthtest.NewServer()
	defer srv.Close()

	srv.InjectFault(symauthtest.PathAgentInfo, symauthtest.Fault{
		Status: http.StatusServiceUnavailable,
		Header: http.Header{"Retry-After": {"1"}},
		Times:  1,
	})
	for range 2 {
		resp, err := srv.Client().Get(srv.URL + symauthtest.PathAgentInfo)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After: %q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println("calls:", srv.Calls(symauthtest.PathAgentInfo))
	// Output:
	// 503 Retry-After: "1"
	// 200 Retry-After: ""
	// calls: 2
}

// An app logs in with its RSA key, then gets a session for a user who
// installed it (on-behalf-of).
func ExampleServer_InstallApp() {
	srv := symauthtest.NewServer()
	defer srv.Close()

	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.RegisterApp("my-app", &appKey.PublicKey); err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	if err := srv.InstallApp("my-app", "alice"); err != nil {
		log.Fatal(err)
	}

	// Step 1: the app's session, from a JWT whose sub is the app id.
	appJWT, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
		"sub": "my-app",
		"exp": time.Now().Add(4 * time.Minute).Unix(),
	}).SignedString(appKey)
	if err != nil {
		log.Fatal(err)
	}
	post := func(path, sessionToken, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if sessionToken != "" {
			req.Header.Set("sessionToken", sessionToken)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var answer struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			log.Fatal(err)
		}
		return resp.StatusCode, answer.Token
	}
	status, appSession := post(symauthtest.PathAppLogin, "", `{"token":"`+appJWT+`"}`)
	fmt.Println("app login:", status)

	// Step 2: alice's session, on behalf of the app; no key manager token.
	status, aliceSession := post(symauthtest.PathOBOUsername("alice"), appSession, "")
	fmt.Println("on behalf of alice:", status, aliceSession != "")
	// Output:
	// app login: 200
	// on behalf of alice: 200 true
}

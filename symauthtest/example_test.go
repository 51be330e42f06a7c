package symauthtest_test

import (
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

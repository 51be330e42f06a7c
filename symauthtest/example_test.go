package symauthtest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log"
	"mime/multipart"
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

// loginBot logs username in on the pod and the key manager with key, as
// Example shows step by step, and returns the session and key manager
// tokens.
func loginBot(srv *symauthtest.Server, key *rsa.PrivateKey, username string) (session, keyManager string) {
	loginJWT, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
		"sub": username,
		"exp": time.Now().Add(4 * time.Minute).Unix(),
	}).SignedString(key)
	if err != nil {
		log.Fatal(err)
	}
	var tokens [2]string
	for i, path := range []string{symauthtest.PathLogin, symauthtest.PathRelay} {
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(`{"token":"`+loginJWT+`"}`))
		if err != nil {
			log.Fatal(err)
		}
		var token struct{ Token string }
		err = json.NewDecoder(resp.Body).Decode(&token)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		tokens[i] = token.Token
	}
	return tokens[0], tokens[1]
}

// agentCall sends an agent call with the bot's tokens and decodes the JSON
// answer into v (if not nil); it returns the status.
func agentCall(srv *symauthtest.Server, method, path, session, keyManager, body string, v any) int {
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("sessionToken", session)
	req.Header.Set("keyManagerToken", keyManager)
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			log.Fatal(err)
		}
	}
	return resp.StatusCode
}

// Alice writes to the bot; the bot reads her message on its datafeed.
func ExampleServer_SendMessage() {
	srv := symauthtest.NewServer()
	defer srv.Close()
	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	session, keyManager := loginBot(srv, key, "my-bot")

	// The bot creates its datafeed.
	var feed struct{ ID string }
	status := agentCall(srv, http.MethodPost, symauthtest.PathDatafeeds, session, keyManager, `{"tag":"my-bot"}`, &feed)
	fmt.Println("create datafeed:", status)

	// Alice writes in her IM with the bot.
	im, err := srv.CreateIM("alice", "my-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.SendMessage("alice", im, "<messageML>Hello, bot</messageML>"); err != nil {
		log.Fatal(err)
	}

	// The bot reads: the event is waiting, so the read answers at once.
	var events struct {
		Events []struct {
			Type      string
			Initiator struct{ User struct{ Username string } }
			Payload   struct {
				MessageSent struct{ Message struct{ Message string } }
			}
		}
		AckID string
	}
	agentCall(srv, http.MethodPost, symauthtest.PathDatafeedRead(feed.ID), session, keyManager, `{"ackId":""}`, &events)
	for _, e := range events.Events {
		fmt.Println(e.Type, e.Initiator.User.Username, e.Payload.MessageSent.Message.Message)
	}
	// Output:
	// create datafeed: 201
	// MESSAGESENT alice <div data-format="PresentationML" data-version="2.0">Hello, bot</div>
}

// The bot posts in a room; the test reads back what it posted.
func ExampleServer_Messages() {
	srv := symauthtest.NewServer()
	defer srv.Close()
	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	room, err := srv.CreateRoom("Support", "my-bot", "alice")
	if err != nil {
		log.Fatal(err)
	}
	session, keyManager := loginBot(srv, key, "my-bot")

	// What the bot under test would do: a multipart/form-data post.
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	if err := form.WriteField("message", "<messageML>Ticket <b>42</b> is closed</messageML>"); err != nil {
		log.Fatal(err)
	}
	form.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+symauthtest.PathMessageCreate(room), &body)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("sessionToken", session)
	req.Header.Set("keyManagerToken", keyManager)
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("post:", resp.StatusCode)

	for _, m := range srv.Messages(room) {
		fmt.Println(m.Username, m.MessageML)
		fmt.Println(m.PresentationML)
	}
	// Output:
	// post: 200
	// my-bot <messageML>Ticket <b>42</b> is closed</messageML>
	// <div data-format="PresentationML" data-version="2.0">Ticket <b>42</b> is closed</div>
}

// A test fakes an endpoint symauthtest does not serve. The server checks
// the tokens first, so after RevokeSessions the client sees a 401 and the
// handler is not called; an AfterAuth fault plays only for valid tokens.
func ExampleServer_Handle() {
	srv := symauthtest.NewServer()
	defer srv.Close()
	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	srv.Handle("GET /pod/v3/room/{id}/info", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := symauthtest.UserFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"roomSystemInfo":{"id":%q},"asked":%q}`, r.PathValue("id"), u.Username)
	}))
	session, keyManager := loginBot(srv, key, "my-bot")
	path := "/pod/v3/room/R1/info"

	var info struct{ Asked string }
	fmt.Println(agentCall(srv, http.MethodGet, path, session, keyManager, "", &info), info.Asked)

	srv.InjectFault(path, symauthtest.Fault{Status: http.StatusServiceUnavailable, AfterAuth: true, Times: 1})
	srv.RevokeSessions()
	fmt.Println(agentCall(srv, http.MethodGet, path, session, keyManager, "", nil)) // the 401 comes first
	session, keyManager = loginBot(srv, key, "my-bot")
	fmt.Println(agentCall(srv, http.MethodGet, path, session, keyManager, "", nil)) // then the fault
	fmt.Println(agentCall(srv, http.MethodGet, path, session, keyManager, "", nil))
	// Output:
	// 200 my-bot
	// 401
	// 503
	// 200
}

package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// A hand-written caller uses a plain http.Client and sets no token header:
// symauth's Transport adds sessionToken everywhere and keyManagerToken on
// Agent API paths.
func Example_handwritten() {
	pod := symauthtest.NewServer() // a fake pod, key manager and agent
	defer pod.Close()
	key, err := pod.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: pod.URL, Username: "my-bot", PrivateKey: key, HTTPClient: pod.Client()})
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: symauth.NewTransport(auth, pod.Client().Transport)}
	podURL, agentURL := pod.URL, pod.URL // in production: two hosts
	ctx := context.Background()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, podURL+"/pod/v2/sessioninfo", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var me struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, "I am", me.Username)

	pod.RevokeSessions() // the session ends; the next call sees a 401

	// A *bytes.Buffer body can be re-read, so the 401 is replayed.
	body, contentType := messageForm("<messageML>Hello</messageML>")
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, agentURL+"/agent/v4/stream/"+streamID+"/message/create", body)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err = client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var sent struct {
		MessageID string `json:"messageId"`
		Message   string `json:"message"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, "sent", sent.Message)
	fmt.Println("logins:", pod.Calls(symauthtest.PathLogin))
	// Output:
	// 200 OK I am my-bot
	// 200 OK sent <messageML>Hello</messageML>
	// logins: 2
}

// Many requests in flight when the session ends: each sees a 401, and all of
// them share one re-login.
func TestHandwrittenConcurrent401s(t *testing.T) {
	const n = 32
	pod, auth := newBot(t)
	client := symauthClient(pod, auth)
	send := func(text string) error {
		body, contentType := messageForm(text)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, pod.URL+createPath(streamID), body)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Status, answer)
		}
		return nil
	}
	if err := send("<messageML>first</messageML>"); err != nil {
		t.Fatal(err)
	}

	pod.RevokeSessions()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- send(fmt.Sprintf("<messageML>%d</messageML>", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := pod.Calls(symauthtest.PathLogin); got != 2 {
		t.Errorf("logins: %d, want 2 (the first and one shared re-login)", got)
	}
	// Every request was sent once, and those that saw the 401 once more.
	if got := pod.Calls(createPath(streamID)); got < n+1 || got > 2*n+1 {
		t.Errorf("message create calls: %d, want between %d and %d", got, n+1, 2*n+1)
	}
}

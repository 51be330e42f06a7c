package symauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// datafeedEvent is the part of an agent V4Event that these examples read.
type datafeedEvent struct {
	Type      string `json:"type"`
	Initiator struct {
		User struct {
			UserID   int64  `json:"userId"`
			Username string `json:"username"`
		} `json:"user"`
	} `json:"initiator"`
	Payload struct {
		MessageSent struct {
			Message struct {
				MessageID string `json:"messageId"`
				Message   string `json:"message"` // PresentationML
				Stream    struct {
					StreamID   string `json:"streamId"`
					StreamType string `json:"streamType"`
				} `json:"stream"`
			} `json:"message"`
		} `json:"messageSent"`
	} `json:"payload"`
}

// createDatafeed creates a datafeed (POST /agent/v5/datafeeds) and returns
// its id. With a tag, a bot that restarts gets its datafeed back.
func createDatafeed(ctx context.Context, client *http.Client, agentURL, tag string) (string, error) {
	body, _ := json.Marshal(map[string]string{"tag": tag})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, agentURL+"/agent/v5/datafeeds", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create datafeed: %s", resp.Status)
	}
	var feed struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&feed); err != nil {
		return "", err
	}
	return feed.ID, nil
}

// readDatafeed is one long-poll read of the datafeed feedID (POST
// /agent/v5/datafeeds/{id}/read), acknowledging the events of the read that
// answered ackID. It returns the events and the ackId to send next.
//
// The body is a bytes.Reader, so http.NewRequest sets GetBody: after a 401
// (the session ended) the symauth Transport logs in again and replays the
// read, ackId included, and the caller only sees the events.
func readDatafeed(ctx context.Context, client *http.Client, agentURL, feedID, ackID string) ([]datafeedEvent, string, error) {
	body, _ := json.Marshal(map[string]string{"ackId": ackID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, agentURL+"/agent/v5/datafeeds/"+feedID+"/read", bytes.NewReader(body))
	if err != nil {
		return nil, ackID, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, ackID, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, ackID, fmt.Errorf("read datafeed: %s", resp.Status)
	}
	var list struct {
		Events []datafeedEvent `json:"events"`
		AckID  string          `json:"ackId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, ackID, err
	}
	return list.Events, list.AckID, nil
}

// messageText returns the text of a message in PresentationML, without its
// markup.
func messageText(presentationML string) string {
	var b strings.Builder
	d := xml.NewDecoder(strings.NewReader(presentationML))
	for {
		t, err := d.Token()
		if err != nil {
			return b.String()
		}
		if c, ok := t.(xml.CharData); ok {
			b.Write(c)
		}
	}
}

// A datafeed loop that survives session ends. The datafeed belongs to the
// bot's user, not to its session: when the pod ends the session, the next
// read gets a 401, the Transport logs in once and replays the read with the
// same ackId, and the loop goes on with the same datafeed id.
func Example_datafeedLoop() {
	srv := symauthtest.NewServer()
	defer srv.Close()
	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	im, err := srv.CreateIM("alice", "my-bot")
	if err != nil {
		log.Fatal(err)
	}

	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: srv.URL, Username: "my-bot", PrivateKey: key, HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: symauth.NewTransport(auth, srv.Client().Transport)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feedID, err := createDatafeed(ctx, client, srv.URL, "my-bot")
	if err != nil {
		log.Fatal(err)
	}

	// The loop: read, hand the messages on, acknowledge them with the next read.
	received := make(chan string)
	loopErr := make(chan error, 1)
	go func() {
		ackID := ""
		for {
			events, next, err := readDatafeed(ctx, client, srv.URL, feedID, ackID)
			if err != nil {
				loopErr <- err // a real bot retries with a backoff unless ctx is done
				return
			}
			ackID = next
			for _, e := range events {
				if e.Type != "MESSAGESENT" {
					continue
				}
				m := e.Payload.MessageSent.Message
				select {
				case received <- e.Initiator.User.Username + ": " + messageText(m.Message):
				case <-ctx.Done():
				}
			}
		}
	}()

	for i, text := range []string{"first", "second", "third"} {
		if i == 1 {
			fmt.Println("sessions ended:", srv.RevokeSessions()) // as an administrator, or the session lifetime, would
		}
		if _, err := srv.SendMessage("alice", im, "<messageML>"+text+"</messageML>"); err != nil {
			log.Fatal(err)
		}
		fmt.Println("received", <-received)
	}
	cancel()
	err = <-loopErr
	fmt.Println("loop ended by cancel:", errors.Is(err, context.Canceled))
	fmt.Println("logins:", srv.Calls(symauthtest.PathLogin))
	// Output:
	// received alice: first
	// sessions ended: 1
	// received alice: second
	// received alice: third
	// loop ended by cancel: true
	// logins: 2
}

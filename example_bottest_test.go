package symauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// helloBot is a bot under test: it answers "hello" in an IM with a greeting
// that tells the sender's presence, and ignores every other message, its
// own included (a datafeed delivers the bot's own messages too).
type helloBot struct {
	client *http.Client // over a symauth Transport
	url    string       // the pod's and the agent's
	userID int64        // the bot's own, from the session info
	feedID string
	ackID  string
}

// start learns who the bot is and creates its datafeed.
func (b *helloBot) start(ctx context.Context) error {
	var me struct {
		ID int64 `json:"id"`
	}
	if err := b.getJSON(ctx, "/pod/v2/sessioninfo", &me); err != nil {
		return err
	}
	b.userID = me.ID
	id, err := createDatafeed(ctx, b.client, b.url, "hello-bot")
	b.feedID = id
	return err
}

// poll reads the datafeed once and handles its events. It returns how many
// replies the bot sent.
func (b *helloBot) poll(ctx context.Context) (replies int, err error) {
	events, next, err := readDatafeed(ctx, b.client, b.url, b.feedID, b.ackID)
	if err != nil {
		return 0, err
	}
	b.ackID = next
	for _, e := range events {
		replied, err := b.handle(ctx, e)
		if err != nil {
			return replies, err
		}
		if replied {
			replies++
		}
	}
	return replies, nil
}

// handle is the bot's logic.
func (b *helloBot) handle(ctx context.Context, e datafeedEvent) (replied bool, err error) {
	m := e.Payload.MessageSent.Message
	from := e.Initiator.User
	if e.Type != "MESSAGESENT" || from.UserID == b.userID || m.Stream.StreamType != "IM" ||
		!strings.EqualFold(strings.TrimSpace(messageText(m.Message)), "hello") {
		return false, nil
	}
	var presence struct {
		Category string `json:"category"`
	}
	if err := b.getJSON(ctx, "/pod/v3/user/"+strconv.FormatInt(from.UserID, 10)+"/presence", &presence); err != nil {
		return false, err
	}
	var text strings.Builder
	_ = xml.EscapeText(&text, []byte("Hello "+from.Username+", you are "+presence.Category))
	return true, b.send(ctx, m.Stream.StreamID, "<messageML>"+text.String()+"</messageML>")
}

func (b *helloBot) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (b *helloBot) send(ctx context.Context, streamID, messageML string) error {
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	if err := form.WriteField("message", messageML); err != nil {
		return err
	}
	if err := form.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+"/agent/v4/stream/"+streamID+"/message/create", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", form.FormDataContentType())
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("send: %s", resp.Status)
	}
	return nil
}

// Testing your own bot with symauthtest: the test plays alice (she writes in
// her IM with the bot), fakes the presence endpoint that symauthtest does not
// serve with Handle, drives the bot's datafeed reads one by one, and reads back
// what the bot posted with Messages.
func Example_testingABot() {
	srv := symauthtest.NewServer()
	defer srv.Close()
	key, err := srv.NewUser("hello-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	srv.Handle("GET /pod/v3/user/{uid}/presence", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"category":"AVAILABLE","userId":%s,"timestamp":0}`, r.PathValue("uid"))
	}))

	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: srv.URL, Username: "hello-bot", PrivateKey: key, HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	bot := &helloBot{client: &http.Client{Transport: symauth.NewTransport(auth, srv.Client().Transport)}, url: srv.URL}
	ctx := context.Background()
	if err := bot.start(ctx); err != nil {
		log.Fatal(err)
	}

	im, err := srv.CreateIM("alice", "hello-bot")
	if err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"hello", "how are you?"} {
		if _, err := srv.SendMessage("alice", im, "<messageML>"+text+"</messageML>"); err != nil {
			log.Fatal(err)
		}
	}
	// Both messages wait in the datafeed, so the read answers at once.
	replies, err := bot.poll(ctx)
	fmt.Println("first read, replies:", replies, err)
	// The bot's own reply comes back on its datafeed; it must not answer it.
	replies, err = bot.poll(ctx)
	fmt.Println("second read, replies:", replies, err)

	for _, m := range srv.Messages(im) {
		fmt.Println(m.Username+":", m.MessageML)
	}
	aliceID, _ := srv.UserID("alice")
	fmt.Println("presence calls:", srv.Calls("/pod/v3/user/"+strconv.FormatInt(aliceID, 10)+"/presence"))
	// Output:
	// first read, replies: 1 <nil>
	// second read, replies: 0 <nil>
	// alice: <messageML>hello</messageML>
	// alice: <messageML>how are you?</messageML>
	// hello-bot: <messageML>Hello alice, you are AVAILABLE</messageML>
	// presence calls: 1
}

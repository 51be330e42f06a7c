package symauthtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// bot is a logged-in user of a test server.
type bot struct {
	s         *Server
	name      string
	id        int64
	session   string
	keyMgr    string
	loginWith func() (session, km string)
}

// newBot registers name and logs it in.
func newBot(t *testing.T, s *Server, name string) *bot {
	t.Helper()
	key := newUser(t, s, name)
	b := &bot{s: s, name: name}
	b.id, _ = s.UserID(name)
	b.loginWith = func() (string, string) { return loginBoth(t, s, key, name) }
	b.session, b.keyMgr = b.loginWith()
	return b
}

// createFeed creates a datafeed with the given body ("" for none) and
// returns its id.
func (b *bot) createFeed(t *testing.T, body string) string {
	t.Helper()
	r := b.createFeedResult(t, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create datafeed: %d %s", r.status, r.body)
	}
	var df v5Datafeed
	if err := json.Unmarshal([]byte(r.body), &df); err != nil || df.ID == "" {
		t.Fatalf("create answer %s: %v", r.body, err)
	}
	return df.ID
}

func (b *bot) createFeedResult(t *testing.T, body string) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, b.s.URL+PathDatafeeds, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, b.s.Client(), withTokens(req, b.session, b.keyMgr))
}

// readResult reads datafeed id with ackID, answered or not.
func (b *bot) readResult(ctx context.Context, id, ackID string) (result, error) {
	body := `{"ackId":"` + ackID + `"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.s.URL+PathDatafeedRead(id), strings.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	setTokens(req, b.session, b.keyMgr)
	return tryDo(b.s.Client(), req)
}

// read reads datafeed id with ackID and decodes the answer.
func (b *bot) read(t *testing.T, id, ackID string) v5EventListIn {
	t.Helper()
	r, err := b.readResult(context.Background(), id, ackID)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("read datafeed: %d %s", r.status, r.body)
	}
	var l v5EventListIn
	if err := json.Unmarshal([]byte(r.body), &l); err != nil {
		t.Fatalf("read answer %s: %v", r.body, err)
	}
	if l.AckID == "" || l.Events == nil {
		t.Fatalf("read answer %s: no ackId or no events list", r.body)
	}
	return l
}

// v5EventListIn decodes a V5EventList.
type v5EventListIn struct {
	Events []v4EventIn `json:"events"`
	AckID  string      `json:"ackId"`
}

type v4EventIn struct {
	ID        string
	MessageID string
	Timestamp int64
	Type      string
	Initiator struct{ User v4User }
	Payload   struct {
		MessageSent *struct{ Message v4Message }
	}
}

// texts returns the PresentationML of every event's message.
func (l v5EventListIn) texts() []string {
	var out []string
	for _, e := range l.Events {
		out = append(out, e.Payload.MessageSent.Message.Message)
	}
	return out
}

// pml is the PresentationML of <messageML>text</messageML>.
func pml(text string) string { return presentationMLOpen + text + presentationMLClose }

func TestDatafeedCreateListDelete(t *testing.T) {
	s, logs := startLogged(t, Options{DatafeedReadWait: -1})
	b := newBot(t, s, "bot")
	other := newBot(t, s, "other")
	list := func(b *bot, query string) []v5Datafeed {
		t.Helper()
		r := get(t, s, PathDatafeeds+query, b.session, b.keyMgr)
		var l []v5Datafeed
		if err := json.Unmarshal([]byte(r.body), &l); err != nil || r.status != http.StatusOK {
			t.Fatalf("list: %d %s %v", r.status, r.body, err)
		}
		return l
	}
	if l := list(b, ""); len(l) != 0 {
		t.Fatalf("datafeeds before any: %+v", l)
	}
	first := b.createFeed(t, "")
	tagged := b.createFeed(t, `{"tag":"bot-feed","includeInvisible":true}`)
	if !strings.HasSuffix(first, "_f") || len(first) != 34 || first == tagged {
		t.Errorf("datafeed ids %q and %q", first, tagged)
	}
	if again := b.createFeed(t, `{"tag":"bot-feed"}`); again != tagged {
		t.Errorf("create with the same tag = %q, want %q", again, tagged)
	}
	if l := list(b, ""); len(l) != 2 || l[0].ID != first || l[1].ID != tagged || l[0].Type != "fanout" || l[0].CreatedAt == 0 {
		t.Errorf("list = %+v", l)
	}
	if l := list(b, "?tag=bot-feed"); len(l) != 1 || l[0].ID != tagged {
		t.Errorf("list by tag = %+v", l)
	}
	if l := list(other, ""); len(l) != 0 {
		t.Errorf("another user's list = %+v", l)
	}

	// Another user's datafeed is no datafeed of theirs: 400, as for a feed
	// that no longer exists.
	r, err := other.readResult(context.Background(), first, "")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r, http.StatusBadRequest, "the feed does not exist")
	logs.waitLine(t, "no datafeed \""+first+"\" of this user")
	del := func(b *bot, id string) result {
		return do(t, s.Client(), withTokens(newRequest(t, http.MethodDelete, s.URL+PathDatafeed(id), nil), b.session, b.keyMgr))
	}
	wantError(t, del(other, first), http.StatusBadRequest, "the feed does not exist")
	if r := del(b, first); r.status != http.StatusNoContent || r.body != "" {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	wantError(t, del(b, first), http.StatusBadRequest, "the feed does not exist")
	r, _ = b.readResult(context.Background(), first, "")
	wantError(t, r, http.StatusBadRequest, "the feed does not exist")
	if l := list(b, ""); len(l) != 1 || l[0].ID != tagged {
		t.Errorf("list after delete = %+v", l)
	}

	// Bad requests.
	for body, msg := range map[string]string{
		"[1]": "JSON object",
		`{"tag":"` + strings.Repeat("t", 101) + `"}`: "at most 100",
		strings.Repeat(" ", maxFeedBody+1):           "too large",
	} {
		wantError(t, b.createFeedResult(t, body), map[bool]int{true: http.StatusRequestEntityTooLarge, false: http.StatusBadRequest}[msg == "too large"], msg)
	}
	wantError(t, get(t, s, PathDatafeeds+"?tag="+strings.Repeat("t", 101), b.session, b.keyMgr), http.StatusBadRequest, "at most 100")
	req := newRequest(t, http.MethodPost, s.URL+PathDatafeedRead(tagged), strings.NewReader("nope"))
	wantError(t, do(t, s.Client(), withTokens(req, b.session, b.keyMgr)), http.StatusBadRequest, "ackId")
	wantError(t, get(t, s, PathDatafeedRead(tagged), b.session, b.keyMgr), http.StatusMethodNotAllowed, "use POST")
	wantError(t, get(t, s, PathDatafeed(tagged), b.session, b.keyMgr), http.StatusMethodNotAllowed, "use DELETE")
	wantError(t, get(t, s, PathDatafeeds+"/", b.session, b.keyMgr), http.StatusNotFound, "does not serve")
	wantError(t, get(t, s, PathDatafeeds+"/a/b/read", b.session, b.keyMgr), http.StatusNotFound, "does not serve")
	wantError(t, get(t, s, PathDatafeeds, b.session, ""), http.StatusUnauthorized, "Invalid session")

	// At most MaxDatafeedsPerUser at once.
	for range MaxDatafeedsPerUser - 1 {
		b.createFeed(t, "")
	}
	wantError(t, b.createFeedResult(t, ""), http.StatusForbidden, "Too many feeds")
	if r := b.createFeedResult(t, `{"tag":"bot-feed"}`); r.status != http.StatusCreated {
		t.Errorf("an existing tag at the limit: %d %s", r.status, r.body)
	}
	other.createFeed(t, "") // the limit is per user
}

func TestDatafeedReadAndAck(t *testing.T) {
	s := start(t, Options{DatafeedReadWait: -1})
	b := newBot(t, s, "bot")
	newUser(t, s, "alice.smith")
	aliceID, _ := s.UserID("alice.smith")
	feed := b.createFeed(t, "")
	im, _ := s.CreateIM("bot", "alice.smith")

	empty := b.read(t, feed, "")
	if len(empty.Events) != 0 {
		t.Fatalf("events before any message: %+v", empty)
	}
	id1, err := s.SendMessage("alice.smith", im, "<messageML>one</messageML>")
	if err != nil {
		t.Fatal(err)
	}
	s.SendMessage("alice.smith", im, "<messageML>two</messageML>")
	l := b.read(t, feed, empty.AckID)
	if got := l.texts(); len(got) != 2 || got[0] != pml("one") || got[1] != pml("two") {
		t.Fatalf("events = %q", got)
	}
	e := l.Events[0]
	m := e.Payload.MessageSent.Message
	sent := s.Messages(im)[0]
	if e.Type != "MESSAGESENT" || e.ID == "" || e.MessageID != id1 || e.Timestamp != sent.Time.UnixMilli() ||
		e.Initiator.User.UserID != aliceID || e.Initiator.User.Username != "alice.smith" {
		t.Errorf("event = %+v", e)
	}
	if m.MessageID != id1 || m.Stream != (v4Stream{StreamID: im, StreamType: "IM"}) || m.Data != "{}" ||
		m.User != (v4User{UserID: aliceID, FirstName: "alice", LastName: "smith", DisplayName: "alice.smith", Email: "alice.smith@example.com", Username: "alice.smith"}) ||
		m.ExternalRecipients == nil || *m.ExternalRecipients || m.OriginalFormat != originalFormatV2 {
		t.Errorf("event message = %+v", m)
	}

	// Not acknowledged (an empty ackId): delivered again, with what came
	// since.
	s.SendMessage("alice.smith", im, "<messageML>three</messageML>")
	again := b.read(t, feed, empty.AckID)
	if got := again.texts(); len(got) != 3 || got[0] != pml("one") || got[2] != pml("three") {
		t.Fatalf("after no ack: %q", got)
	}
	if again.AckID == l.AckID {
		t.Error("the same ackId twice")
	}
	// An older ackId the server issued still acknowledges its own events
	// (the spec: the feed removes "the events associated with that ackId"),
	// even though a later answer delivered them again.
	if older := b.read(t, feed, l.AckID); len(older.Events) != 1 || older.texts()[0] != pml("three") {
		t.Fatalf("after an older ack: %q", older.texts())
	} else {
		again = older
	}
	// Acknowledged: gone.
	done := b.read(t, feed, again.AckID)
	if len(done.Events) != 0 {
		t.Fatalf("after the ack: %q", done.texts())
	}

	// The bot's own messages come to its datafeed too (BDK filters them).
	r := sendMessage(t, s, im, b.session, b.keyMgr, "message", "<messageML>mine</messageML>")
	if r.status != http.StatusOK {
		t.Fatalf("bot's message: %d %s", r.status, r.body)
	}
	own := b.read(t, feed, done.AckID)
	if got := own.texts(); len(got) != 1 || got[0] != pml("mine") || own.Events[0].Initiator.User.UserID != b.id {
		t.Errorf("own message: %+v", own)
	}
	// So do its messages to streams the server does not know.
	sendMessage(t, s, "unknown-stream", b.session, b.keyMgr, "message", "legacy")
	if got := b.read(t, feed, own.AckID).texts(); len(got) != 1 || got[0] != pml("legacy") {
		t.Errorf("message to an unknown stream: %q", got)
	}
	// A message in a stream the bot is not in does not.
	newUser(t, s, "carol")
	other, _ := s.CreateIM("alice.smith", "carol")
	s.SendMessage("carol", other, "<messageML>private</messageML>")
	if got := b.read(t, feed, "").texts(); len(got) != 1 || got[0] != pml("legacy") {
		t.Errorf("after a message elsewhere: %q", got)
	}
}

func TestDatafeedBounded(t *testing.T) {
	s, logs := startLogged(t, Options{DatafeedReadWait: -1})
	b := newBot(t, s, "bot")
	feed := b.createFeed(t, "")
	room, _ := s.CreateRoom("r", "bot")
	for i := range MaxDatafeedEvents + 5 {
		if _, err := s.SendMessage("bot", room, "<messageML>"+strconv.Itoa(i)+"</messageML>"); err != nil {
			t.Fatal(err)
		}
	}
	logs.waitLine(t, "the oldest are dropped")
	ack, seen := "", 0
	for {
		l := b.read(t, feed, ack)
		if len(l.Events) == 0 {
			break
		}
		if len(l.Events) > maxReadEvents {
			t.Fatalf("%d events in one answer", len(l.Events))
		}
		if seen == 0 && l.texts()[0] != pml("5") {
			t.Errorf("first event %q, want the 6th message: the oldest are dropped", l.texts()[0])
		}
		seen += len(l.Events)
		ack = l.AckID
	}
	if seen != MaxDatafeedEvents {
		t.Errorf("%d events read, want %d", seen, MaxDatafeedEvents)
	}
}

// waitingHook returns an Options.readWaiting that reports on the channel.
func waitingHook() (func(string), chan string) {
	ch := make(chan string, 100)
	return func(id string) {
		select {
		case ch <- id:
		default:
		}
	}, ch
}

func TestDatafeedReadWaits(t *testing.T) {
	hook, waiting := waitingHook()
	s, logs := startLogged(t, Options{DatafeedReadWait: time.Hour, readWaiting: hook})
	b := newBot(t, s, "bot")
	feed := b.createFeed(t, "")
	room, _ := s.CreateRoom("r", "bot")

	// A read waits for the next event and answers it at once.
	got := make(chan result, 1)
	go func() {
		r, err := b.readResult(context.Background(), feed, "")
		if err != nil {
			r.body = err.Error()
		}
		got <- r
	}()
	<-waiting
	s.SendMessage("bot", room, "<messageML>wake up</messageML>")
	r := <-got
	if r.status != http.StatusOK || !strings.Contains(r.body, "wake up") {
		t.Fatalf("waiting read: %d %s", r.status, r.body)
	}
	var answer v5EventListIn
	if err := json.Unmarshal([]byte(r.body), &answer); err != nil {
		t.Fatal(err)
	}

	// The wait ends when the client goes away (over HTTP/2 and HTTP/1.1).
	for _, c := range []*http.Client{s.Client(), http1Client(t, s)} {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			// Acknowledge, so that the read has nothing to deliver again.
			body := strings.NewReader(`{"ackId":"` + answer.AckID + `"}`)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+PathDatafeedRead(feed), body)
			setTokens(req, b.session, b.keyMgr)
			_, err := tryDo(c, req)
			errc <- err
		}()
		<-waiting
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled read: %v", err)
		}
		logs.waitLine(t, "read ended early: the client went away")
	}

	// Deleting the datafeed ends the wait with a 400.
	go func() {
		r, _ := b.readResult(context.Background(), feed, "")
		got <- r
	}()
	<-waiting
	do(t, s.Client(), withTokens(newRequest(t, http.MethodDelete, s.URL+PathDatafeed(feed), nil), b.session, b.keyMgr))
	wantError(t, <-got, http.StatusBadRequest, "the feed does not exist")
}

func TestDatafeedReadWaitEnds(t *testing.T) {
	s := start(t, Options{DatafeedReadWait: 20 * time.Millisecond})
	b := newBot(t, s, "bot")
	feed := b.createFeed(t, "")
	l := b.read(t, feed, "") // answered after the wait, with no event
	if len(l.Events) != 0 {
		t.Errorf("events = %+v", l.Events)
	}
	if s.readWait != 20*time.Millisecond {
		t.Errorf("readWait = %v", s.readWait)
	}
	if s := start(t, Options{}); s.readWait != DefaultDatafeedReadWait {
		t.Errorf("default read wait = %v", s.readWait)
	}
}

func TestCloseEndsDatafeedRead(t *testing.T) {
	hook, waiting := waitingHook()
	logs := &logSink{t: t}
	s, err := Start(Options{Logf: logs.Logf, readWaiting: hook})
	if err != nil {
		t.Fatal(err)
	}
	b := newBot(t, s, "bot")
	feed := b.createFeed(t, "")
	c := http1Client(t, s)
	errc := make(chan error, 2)
	for _, client := range []*http.Client{s.Client(), c} {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, s.URL+PathDatafeedRead(feed), nil)
			setTokens(req, b.session, b.keyMgr)
			r, err := tryDo(client, req)
			if err == nil {
				err = fmt.Errorf("answered %d", r.status)
			}
			errc <- err
		}()
		<-waiting
	}
	s.Close() // does not wait 30 s
	for range 2 {
		if err := <-errc; err == nil {
			t.Error("read answered after Close")
		}
	}
	c.CloseIdleConnections()
	goleak.VerifyNone(t)
	found := false
	for _, line := range logs.all() {
		found = found || strings.Contains(line, "read ended early: the server is closing")
	}
	if !found {
		t.Errorf("no log line about the read ended by Close: %q", logs.all())
	}
}

// The promise: a datafeed belongs to its user, not to the session
// that made it. After the session ends (RevokeSessions, or its lifetime), a
// read with the old tokens answers 401, and after a new login the same
// datafeed id delivers what came meanwhile.
func TestDatafeedSurvivesSessionEnd(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now, SessionLifetime: time.Hour, DatafeedReadWait: -1})
	b := newBot(t, s, "bot")
	newUser(t, s, "alice")
	im, _ := s.CreateIM("bot", "alice")
	feed := b.createFeed(t, `{"tag":"bot"}`)
	s.SendMessage("alice", im, "<messageML>before</messageML>")
	first := b.read(t, feed, "")
	if got := first.texts(); len(got) != 1 || got[0] != pml("before") {
		t.Fatalf("first read: %q", got)
	}

	for _, end := range []struct {
		name string
		do   func()
	}{
		{"RevokeSessions", func() { s.RevokeSessions() }},
		// The login JWT is signed with the same clock, so it is not expired.
		{"session lifetime", func() { clock.Advance(time.Hour) }},
	} {
		t.Run(end.name, func(t *testing.T) {
			end.do()
			s.SendMessage("alice", im, "<messageML>during "+end.name+"</messageML>")
			r, err := b.readResult(context.Background(), feed, first.AckID)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, r, http.StatusUnauthorized, "Invalid session")
			wantError(t, b.createFeedResult(t, ""), http.StatusUnauthorized, "Invalid session")

			b.session, b.keyMgr = b.loginWith()
			l := b.read(t, feed, first.AckID)
			if got := l.texts(); len(got) != 1 || got[0] != pml("during "+end.name) {
				t.Fatalf("after re-login: %q", got)
			}
			if r := get(t, s, PathDatafeeds+"?tag=bot", b.session, b.keyMgr); !strings.Contains(r.body, feed) {
				t.Errorf("list after re-login: %s", r.body)
			}
			first = l
		})
	}
}

// Many goroutines read datafeeds while others send messages, through the
// agent and with SendMessage: every reader that acknowledges sees every
// message once.
func TestDatafeedConcurrency(t *testing.T) {
	s := start(t, Options{DatafeedReadWait: 50 * time.Millisecond})
	const (
		users   = 4
		senders = 4
		each    = 25
	)
	var bots []*bot
	var names []string
	for i := range users {
		b := newBot(t, s, "user"+strconv.Itoa(i))
		bots, names = append(bots, b), append(names, b.name)
	}
	mim, err := s.CreateIM(names...)
	if err != nil {
		t.Fatal(err)
	}
	feeds := make([]string, users)
	for i, b := range bots {
		feeds[i] = b.createFeed(t, "")
	}
	// A second feed of user0, read by several goroutines at once without
	// acknowledging: it only has to stay consistent.
	shared := bots[0].createFeed(t, `{"tag":"shared"}`)

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range senders {
		wg.Go(func() {
			b := bots[i%users]
			for j := range each {
				text := fmt.Sprintf("<messageML>%d-%d</messageML>", i, j)
				if j%2 == 0 {
					if _, err := s.SendMessage(b.name, mim, text); err != nil {
						errs <- err
					}
					continue
				}
				body, ct := multipartBody(t, "message", text)
				req, _ := http.NewRequest(http.MethodPost, s.URL+PathMessageCreate(mim), body)
				req.Header.Set("Content-Type", ct)
				setTokens(req, b.session, b.keyMgr)
				if r, err := tryDo(s.Client(), req); err != nil || r.status != http.StatusOK {
					errs <- fmt.Errorf("send: %v %d %s", err, r.status, r.body)
				}
			}
		})
	}
	seen := make([]map[string]int, users)
	for i, b := range bots {
		seen[i] = make(map[string]int)
		wg.Go(func() {
			ack := ""
			for len(seen[i]) < senders*each {
				r, err := b.readResult(context.Background(), feeds[i], ack)
				if err != nil || r.status != http.StatusOK {
					errs <- fmt.Errorf("read: %v %d %s", err, r.status, r.body)
					return
				}
				var l v5EventListIn
				if err := json.Unmarshal([]byte(r.body), &l); err != nil {
					errs <- err
					return
				}
				for _, e := range l.Events {
					seen[i][e.MessageID]++
				}
				ack = l.AckID
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r, err := bots[0].readResult(context.Background(), shared, ""); err != nil || r.status != http.StatusOK {
					errs <- fmt.Errorf("shared read: %v %d", err, r.status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Messages(mim)); n != senders*each {
		t.Errorf("%d messages kept, want %d", n, senders*each)
	}
	for i := range seen {
		for id, n := range seen[i] {
			if n != 1 {
				t.Errorf("user%d saw message %s %d times", i, id, n)
			}
		}
	}
}

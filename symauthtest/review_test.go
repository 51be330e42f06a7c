package symauthtest

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Two reads of one feed wait at once (two bot instances, or a retry racing
// the original read); one message arrives. Whoever got it and acknowledges
// it with the ackId that came with it must not see it again: the spec says
// "you acknowledge that you have received the events that came with that
// ackId; datafeed will remove the events associated with that ackId".
func TestReviewConcurrentReadAckLost(t *testing.T) {
	hook, waiting := waitingHook()
	s := start(t, Options{DatafeedReadWait: 3 * time.Second, readWaiting: hook})
	b := newBot(t, s, "bot")
	newUser(t, s, "alice")
	im, _ := s.CreateIM("bot", "alice")
	feed := b.createFeed(t, "")

	var wg sync.WaitGroup
	answers := make([]v5EventListIn, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.readResult(context.Background(), feed, "")
			if err != nil || r.status != http.StatusOK {
				t.Errorf("read %d: %v %d %s", i, err, r.status, r.body)
				return
			}
			_ = json.Unmarshal([]byte(r.body), &answers[i])
		}()
	}
	for range 2 {
		select {
		case <-waiting:
		case <-time.After(5 * time.Second):
			t.Fatal("reads never waited")
		}
	}
	if _, err := s.SendMessage("alice", im, "<messageML>once</messageML>"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	total := 0
	for _, a := range answers {
		total += len(a.Events)
	}
	t.Logf("events per reader: %d, %d", len(answers[0].Events), len(answers[1].Events))
	var acked v5EventListIn
	for _, a := range answers {
		if len(a.Events) > 0 {
			acked = a
			break
		}
	}
	next := b.read(t, feed, acked.AckID)
	if len(next.Events) != 0 {
		t.Errorf("events acknowledged with ackId %s delivered again: %q (the same event went to %d concurrent reads)", acked.AckID, next.texts(), total)
	}
}

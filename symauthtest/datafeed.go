package symauthtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Bounds of the datafeeds.
const (
	// MaxDatafeedsPerUser is how many datafeeds a user may have at once: a
	// create beyond it answers 403, as the agent spec says of its limit of
	// 20 active feeds.
	MaxDatafeedsPerUser = 20

	// MaxDatafeedEvents is how many events wait at most in a datafeed to be
	// read: beyond it, the oldest waiting event is dropped (the events of
	// the last read, until acknowledged, come on top).
	MaxDatafeedEvents = 1000

	// DefaultDatafeedReadWait is how long a datafeed read waits for an
	// event when Options.DatafeedReadWait is 0, like a real agent's.
	DefaultDatafeedReadWait = 30 * time.Second

	maxReadEvents  = 100 // events in one read answer
	maxDatafeedTag = 100 // bytes of a datafeed tag, as the spec says
	maxFeedBody    = 64 << 10
	datafeedPrefix = PathDatafeeds + "/" // + {datafeedId}, or + {datafeedId} + datafeedReadTail
	datafeedRead   = "/read"
)

// PathDatafeed returns the path of the datafeed datafeedID, for DELETE:
// "/agent/v5/datafeeds/{datafeedId}".
func PathDatafeed(datafeedID string) string { return datafeedPrefix + datafeedID }

// PathDatafeedRead returns the path that reads the datafeed datafeedID:
// "/agent/v5/datafeeds/{datafeedId}/read".
func PathDatafeedRead(datafeedID string) string { return datafeedPrefix + datafeedID + datafeedRead }

// PathMessageCreate returns the path that posts a message in the stream
// streamID: "/agent/v4/stream/{sid}/message/create".
func PathMessageCreate(streamID string) string { return pathStreamBase + streamID + pathCreateTail }

// v4Event is the agent's V4Event, as a datafeed read delivers it. Values are
// never modified after they are made, and may be queued in several feeds.
type v4Event struct {
	ID        string      `json:"id"`
	MessageID string      `json:"messageId,omitempty"`
	Timestamp int64       `json:"timestamp"`
	Type      string      `json:"type"`
	Initiator v4Initiator `json:"initiator"`
	Payload   v4Payload   `json:"payload"`
}

// v4Initiator is the agent's V4Initiator.
type v4Initiator struct {
	User v4User `json:"user"`
}

// v4Payload is the agent's V4Payload; only messageSent is made.
type v4Payload struct {
	MessageSent *v4MessageSent `json:"messageSent,omitempty"`
}

// v4MessageSent is the agent's V4MessageSent.
type v4MessageSent struct {
	Message v4Message `json:"message"`
}

// v5Datafeed is the agent's V5Datafeed.
type v5Datafeed struct {
	ID        string `json:"id"`
	CreatedAt int64  `json:"createdAt"`
	Type      string `json:"type"`
}

// v5EventList is the agent's V5EventList.
type v5EventList struct {
	Events []*v4Event `json:"events"`
	AckID  string     `json:"ackId"`
}

// datafeed is one user's feed of events. Its fields are guarded by the
// store's mu.
type datafeed struct {
	id      string
	user    int64
	tag     string
	created time.Time

	pending   []*v4Event    // not yet delivered, oldest first
	delivered []*v4Event    // delivered and not yet acknowledged, oldest first
	acks      []ackedBatch  // the recent answers' ackIds, oldest first, at most maxAckIDs
	wake      chan struct{} // closed when an event arrives or the feed goes; nil: nobody waits
	dropping  bool          // events were dropped since the last read
}

// ackedBatch is an answer's ackId and the events it delivered.
type ackedBatch struct {
	id     string
	events []*v4Event
}

// maxAckIDs bounds the ackIds a datafeed remembers: a read with one of
// them acknowledges its events, even when other reads answered since
// (concurrent readers of one feed, or a retried read).
const maxAckIDs = 16

// acknowledge removes from delivered the events of the answer whose ackId
// is id, and forgets that ackId and the older ones (whose events the later
// answers held too). An unknown id acknowledges nothing. Call with the
// store's mu held.
func (df *datafeed) acknowledge(id string) {
	for i, b := range df.acks {
		if b.id != id {
			continue
		}
		acked := make(map[*v4Event]bool, len(b.events))
		for _, ev := range b.events {
			acked[ev] = true
		}
		kept := df.delivered[:0]
		for _, ev := range df.delivered {
			if !acked[ev] {
				kept = append(kept, ev)
			}
		}
		clear(df.delivered[len(kept):])
		df.delivered = kept
		df.acks = append(df.acks[:0], df.acks[i+1:]...)
		return
	}
}

// datafeedStore holds the datafeeds. A datafeed belongs to a user, not to a
// session: it outlives the session that created it. Safe for concurrent
// use.
type datafeedStore struct {
	mu     sync.Mutex
	byID   map[string]*datafeed
	byUser map[int64][]*datafeed // in order of creation
}

func (t *datafeedStore) init() {
	t.byID = make(map[string]*datafeed)
	t.byUser = make(map[int64][]*datafeed)
}

// wakeUp releases the reads waiting on df. Call with mu held.
func (df *datafeed) wakeUp() {
	if df.wake != nil {
		close(df.wake)
		df.wake = nil
	}
}

// deliver queues ev on every datafeed of the users with these ids and wakes
// their readers. It returns the ids of the datafeeds that started to drop
// events (none since their last read), for the log.
func (t *datafeedStore) deliver(userIDs []int64, ev *v4Event) (dropping []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range userIDs {
		for _, df := range t.byUser[id] {
			df.pending = append(df.pending, ev)
			if len(df.pending) > MaxDatafeedEvents {
				df.pending[0] = nil
				df.pending = df.pending[1:]
				if !df.dropping {
					df.dropping = true
					dropping = append(dropping, df.id)
				}
			}
			df.wakeUp()
		}
	}
	return dropping
}

// own returns the datafeed id of the user with id user, or nil. Call with mu
// held.
func (t *datafeedStore) own(id string, user int64) *datafeed {
	df := t.byID[id]
	if df == nil || df.user != user {
		return nil
	}
	return df
}

// handleDatafeeds serves the datafeed endpoints, path being under
// PathDatafeeds, for the user of g.
func (s *Server) handleDatafeeds(w http.ResponseWriter, r *http.Request, g grant) {
	if r.URL.Path == PathDatafeeds {
		switch r.Method {
		case http.MethodGet:
			s.listDatafeeds(w, r, g)
		case http.MethodPost:
			s.createDatafeed(w, r, g)
		default:
			s.methodNotAllowed(w, r, "GET, POST")
		}
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, datafeedPrefix)
	id, read := strings.CutSuffix(rest, datafeedRead)
	if id == "" || strings.Contains(id, "/") {
		s.notFound(w, r)
		return
	}
	switch {
	case read && r.Method == http.MethodPost:
		s.readDatafeed(w, r, g, id)
	case read:
		s.methodNotAllowed(w, r, http.MethodPost)
	case r.Method == http.MethodDelete:
		s.deleteDatafeed(w, r, g, id)
	default:
		s.methodNotAllowed(w, r, http.MethodDelete)
	}
}

// readOptionalJSON decodes r's body, if it has one, into v. On failure it
// logs, answers 400 (413 for a body over 64 KiB) and returns false.
func (s *Server) readOptionalJSON(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFeedBody))
	if err != nil {
		s.refuseBody(w, r, err, "64 KiB", "cannot read the body", "cannot read the request body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.refuse(r, "the body is not "+shape)
		writeError(w, http.StatusBadRequest, "the request body must be "+shape)
		return false
	}
	return true
}

// v5DatafeedOf describes df as the agent does.
func v5DatafeedOf(df *datafeed) v5Datafeed {
	return v5Datafeed{ID: df.id, CreatedAt: df.created.UnixMilli(), Type: "fanout"}
}

// listDatafeeds serves GET /agent/v5/datafeeds: the user's datafeeds, those
// with the tag query parameter's tag if it is given.
func (s *Server) listDatafeeds(w http.ResponseWriter, r *http.Request, g grant) {
	tag := r.URL.Query().Get("tag")
	if len(tag) > maxDatafeedTag {
		s.refuse(r, "tag longer than 100 characters")
		writeError(w, http.StatusBadRequest, "tag must be at most 100 characters long")
		return
	}
	s.feeds.mu.Lock()
	list := []v5Datafeed{}
	for _, df := range s.feeds.byUser[g.user.id] {
		if tag == "" || df.tag == tag {
			list = append(list, v5DatafeedOf(df))
		}
	}
	s.feeds.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// createDatafeed serves POST /agent/v5/datafeeds, with an optional body
// V5DatafeedCreateBody {"tag": …, "includeInvisible": …}: 201 and the new
// V5Datafeed; for a tag one of the user's datafeeds has, that datafeed (a
// tag makes a datafeed unique); 403 beyond MaxDatafeedsPerUser.
func (s *Server) createDatafeed(w http.ResponseWriter, r *http.Request, g grant) {
	var body struct {
		Tag              string `json:"tag"`
		IncludeInvisible bool   `json:"includeInvisible"`
	}
	if !s.readOptionalJSON(w, r, &body, `a JSON object {"tag":"…"}`) {
		return
	}
	if len(body.Tag) > maxDatafeedTag {
		s.refuse(r, "tag longer than 100 characters")
		writeError(w, http.StatusBadRequest, "tag must be at most 100 characters long")
		return
	}
	id, err := randomHex(16)
	if err != nil {
		s.logf("datafeed create failed: %v", err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot make a datafeed id")
		return
	}
	s.feeds.mu.Lock()
	defer s.feeds.mu.Unlock()
	feeds := s.feeds.byUser[g.user.id]
	if body.Tag != "" {
		for _, df := range feeds {
			if df.tag == body.Tag {
				writeJSON(w, http.StatusCreated, v5DatafeedOf(df))
				return
			}
		}
	}
	if len(feeds) >= MaxDatafeedsPerUser {
		s.refuse(r, "too many datafeeds")
		writeError(w, http.StatusForbidden, "Too many feeds created: a user may have 20 active feeds")
		return
	}
	df := &datafeed{id: id + "_f", user: g.user.id, tag: body.Tag, created: s.now()}
	s.feeds.byID[df.id] = df
	s.feeds.byUser[g.user.id] = append(feeds, df)
	s.logf("datafeed %s created for user %s", df.id, shown(g.user.name))
	writeJSON(w, http.StatusCreated, v5DatafeedOf(df))
}

// deleteDatafeed serves DELETE /agent/v5/datafeeds/{datafeedId}: 204, or
// 400 for a datafeed that is not the user's (the spec declares no 404);
// reads waiting on it answer 400 too.
func (s *Server) deleteDatafeed(w http.ResponseWriter, r *http.Request, g grant, id string) {
	s.feeds.mu.Lock()
	df := s.feeds.own(id, g.user.id)
	if df != nil {
		delete(s.feeds.byID, id)
		feeds := s.feeds.byUser[g.user.id]
		i := indexOf(feeds, df)
		s.feeds.byUser[g.user.id] = append(feeds[:i:i], feeds[i+1:]...)
		if len(s.feeds.byUser[g.user.id]) == 0 {
			delete(s.feeds.byUser, g.user.id)
		}
		df.pending, df.delivered, df.acks = nil, nil, nil
		df.wakeUp()
	}
	s.feeds.mu.Unlock()
	if df == nil {
		s.refuseNoFeed(w, r, id)
		return
	}
	s.logf("datafeed %s deleted", id)
	w.WriteHeader(http.StatusNoContent)
}

// indexOf returns the index of df in feeds, which holds it.
func indexOf(feeds []*datafeed, df *datafeed) int {
	for i, f := range feeds {
		if f == df {
			return i
		}
	}
	return -1
}

// refuseNoFeed answers 400 for a datafeed id that names none of the user's
// datafeeds, as the spec's read endpoint says of a feed that no longer
// exists.
func (s *Server) refuseNoFeed(w http.ResponseWriter, r *http.Request, id string) {
	s.refuse(r, "no datafeed "+shown(id)+" of this user")
	writeError(w, http.StatusBadRequest, "the feed does not exist: create a new feed")
}

// readDatafeed serves POST /agent/v5/datafeeds/{datafeedId}/read, with an
// optional body AckId {"ackId": …}. An ackId of a recent answer (one of the
// last maxAckIDs) acknowledges that answer's events; any other ("" on the
// first read, or an unknown one) acknowledges nothing, and the events not
// acknowledged are delivered again. It
// answers at once when events wait (at most maxReadEvents, oldest first),
// else when one arrives, or after the read wait with no event; a wait ends
// early without an answer when the client goes away or the server closes.
func (s *Server) readDatafeed(w http.ResponseWriter, r *http.Request, g grant, id string) {
	var body struct {
		AckID string `json:"ackId"`
	}
	if !s.readOptionalJSON(w, r, &body, `a JSON object {"ackId":"…"}`) {
		return
	}
	var timeout <-chan time.Time
	if s.readWait > 0 {
		t := time.NewTimer(s.readWait)
		defer t.Stop()
		timeout = t.C
	}
	acked := false
	for {
		s.feeds.mu.Lock()
		df := s.feeds.own(id, g.user.id)
		if df == nil {
			s.feeds.mu.Unlock()
			s.refuseNoFeed(w, r, id)
			return
		}
		if !acked {
			acked = true
			if body.AckID != "" {
				df.acknowledge(body.AckID)
			}
		}
		answer, ok := df.take(timeout == nil)
		if ok {
			s.feeds.mu.Unlock()
			writeJSON(w, http.StatusOK, answer)
			return
		}
		if df.wake == nil {
			df.wake = make(chan struct{})
		}
		wake := df.wake
		s.feeds.mu.Unlock()
		if s.readWaiting != nil {
			s.readWaiting(id)
		}

		select {
		case <-wake:
		case <-timeout:
			timeout = nil // the next take answers, events or not
		case <-r.Context().Done():
			s.logf("datafeed %s: read ended early: the client went away", id)
			return
		case <-s.done:
			s.logf("datafeed %s: read ended early: the server is closing", id)
			abort(w)
			return
		}
	}
}

// take returns the answer of a read: the events not acknowledged, then the
// pending ones, up to maxReadEvents, which become delivered under a new
// ackId. With no event it reports false, unless always. Call with the
// store's mu held.
func (df *datafeed) take(always bool) (v5EventList, bool) {
	n := min(len(df.pending), maxReadEvents-len(df.delivered))
	if len(df.delivered)+n == 0 && !always {
		return v5EventList{}, false
	}
	df.delivered = append(df.delivered, df.pending[:n]...)
	clear(df.pending[:n])
	df.pending = df.pending[n:]
	df.dropping = false
	ackID, _ := randomHex(16) // crypto/rand never fails (Go 1.24+)
	events := append([]*v4Event{}, df.delivered...)
	if len(df.acks) == maxAckIDs {
		df.acks = append(df.acks[:0], df.acks[1:]...)
	}
	df.acks = append(df.acks, ackedBatch{id: ackID, events: events})
	return v5EventList{Events: events, AckID: ackID}, true
}

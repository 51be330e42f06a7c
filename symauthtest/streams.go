package symauthtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of what the server keeps of conversations.
const (
	// MaxStreamMessages is how many messages the server keeps per stream,
	// for Messages: beyond it, the oldest are forgotten.
	MaxStreamMessages = 1000

	// maxLooseStreams is how many unknown streams (see Options.StrictStreams)
	// keep their messages; beyond it, the messages of the one posted to
	// first are forgotten.
	maxLooseStreams = 1000
)

// Stream types, as V4Stream.streamType names them.
const (
	streamIM   = "IM"
	streamMIM  = "MIM"
	streamRoom = "ROOM"
)

// Formats of a message as the agent answers it.
const (
	presentationMLOpen  = `<div data-format="PresentationML" data-version="2.0">`
	presentationMLClose = `</div>`
	originalFormatV2    = "com.symphony.messageml.v2"
)

// Message is a message posted in a stream, through the agent
// (POST /agent/v4/stream/{sid}/message/create) or with SendMessage, as
// Messages returns it.
type Message struct {
	// ID is the message id, as the agent answered it.
	ID string

	// StreamID is the stream the message was posted in.
	StreamID string

	// UserID and Username are the sender's.
	UserID   int64
	Username string

	// MessageML is the message as sent (MessageML, or PresentationML when
	// the sender sent that).
	MessageML string

	// PresentationML is the message as the agent answers it and datafeeds
	// deliver it: the content of the sent root element inside
	// <div data-format="PresentationML" data-version="2.0">…</div>.
	// MessageML shorthand tags (<mention/>, <hash/>, <card> …) are kept as
	// sent, not expanded as a real agent would.
	PresentationML string

	// Data is the EntityJSON sent with the message; "{}" when none was.
	Data string

	// Attachments are the files sent with the message (the multipart
	// "attachment" parts), in order; the server keeps their names and sizes,
	// not their content.
	Attachments []Attachment

	// Time is when the server received the message, per Options.Now.
	Time time.Time
}

// Attachment is a file sent with a message, as the agent describes it
// (V4AttachmentInfo).
type Attachment struct {
	ID   string // the attachment id the agent gave it
	Name string // the file name the client sent
	Size int64  // its size in bytes
}

// stream is a conversation: an IM, a MIM or a room. Values are never
// modified after they are stored.
type stream struct {
	id      string
	typ     string // streamIM, streamMIM or streamRoom
	name    string // of a room
	members map[int64]bool
}

// memberIDs returns the ids of the stream's members, in increasing order.
func (st *stream) memberIDs() []int64 {
	ids := make([]int64, 0, len(st.members))
	for id := range st.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// streamStore holds the streams and their messages. Streams are never
// removed. Safe for concurrent use.
type streamStore struct {
	mu   sync.Mutex
	byID map[string]*stream
	ims  map[string]string     // imKey of the members -> stream id
	logs map[string][]*Message // stream id -> its messages, oldest first
	// loose lists the unknown streams that have messages in logs, in the
	// order of their first message.
	loose []string
}

func (t *streamStore) init() {
	t.byID = make(map[string]*stream)
	t.ims = make(map[string]string)
	t.logs = make(map[string][]*Message)
}

// imKey names a set of members, given in increasing order.
func imKey(ids []int64) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(',')
	}
	return b.String()
}

// newStreamID returns a stream id shaped like Symphony's: URL-safe base64
// without padding, 34 characters.
func newStreamID() string {
	b := make([]byte, 25)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// im returns the IM (two members) or MIM (more) of exactly these members,
// made on first use: the same set of users always gets the same stream.
func (t *streamStore) im(members map[int64]bool) *stream {
	st := &stream{members: members, typ: streamIM}
	if len(members) > 2 {
		st.typ = streamMIM
	}
	key := imKey(st.memberIDs())
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ims[key]; ok {
		return t.byID[id]
	}
	st.id = newStreamID()
	t.byID[st.id] = st
	t.ims[key] = st.id
	return st
}

// room makes a new room.
func (t *streamStore) room(name string, members map[int64]bool) *stream {
	st := &stream{id: newStreamID(), typ: streamRoom, name: name, members: members}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[st.id] = st
	return st
}

// lookup returns the stream whose id is id, or nil.
func (t *streamStore) lookup(id string) *stream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// record keeps m, the newest message of its stream, forgetting the oldest
// beyond MaxStreamMessages (and the messages of the oldest unknown stream
// beyond maxLooseStreams). Call with mu held.
func (t *streamStore) record(m *Message, known bool) {
	log, had := t.logs[m.StreamID]
	if !had && !known {
		t.loose = append(t.loose, m.StreamID)
		if len(t.loose) > maxLooseStreams {
			delete(t.logs, t.loose[0])
			t.loose = t.loose[1:]
		}
	}
	log = append(log, m)
	if len(log) > MaxStreamMessages {
		log[0] = nil
		log = log[1:]
	}
	t.logs[m.StreamID] = log
}

// CreateIM returns the id of the instant message stream of exactly these
// registered users (an IM for two, a MIM for more), as POST
// /pod/v1/im/create would for one of them listing the others: the same set
// of users always gets the same stream, whoever asks and in whatever
// order. Duplicate names count once. It fails for fewer than two distinct
// users or a username that is not registered. Safe for concurrent use.
func (s *Server) CreateIM(usernames ...string) (streamID string, err error) {
	members, err := s.membersNamed("CreateIM", usernames)
	if err != nil {
		return "", err
	}
	if len(members) < 2 {
		return "", errors.New("symauthtest: CreateIM: an IM needs at least two distinct users")
	}
	return s.streams.im(members).id, nil
}

// CreateRoom makes a new room called name whose members are these
// registered users, and returns its stream id. Each call makes a new room.
// It fails without a member or for a username that is not registered. Safe
// for concurrent use.
func (s *Server) CreateRoom(name string, usernames ...string) (streamID string, err error) {
	members, err := s.membersNamed("CreateRoom", usernames)
	if err != nil {
		return "", err
	}
	if len(members) == 0 {
		return "", errors.New("symauthtest: CreateRoom: a room needs a member")
	}
	return s.streams.room(name, members).id, nil
}

// membersNamed returns the ids of the users called usernames.
func (s *Server) membersNamed(op string, usernames []string) (map[int64]bool, error) {
	members := make(map[int64]bool, len(usernames))
	for _, name := range usernames {
		u := s.users.lookup(name)
		if u == nil {
			return nil, fmt.Errorf("symauthtest: %s: unknown user %s", op, shown(name))
		}
		members[u.id] = true
	}
	return members, nil
}

// SendMessage posts messageML in the stream streamID as the registered user
// username, as POST /agent/v4/stream/{sid}/message/create does for that
// user: the message is checked the same way (well-formed XML whose root is
// <messageML>, or <div> for PresentationML), recorded for Messages, and
// delivered as a MESSAGESENT event to the datafeeds of every member of the
// stream, the sender's included. It returns the message id. It fails for
// an unknown user, an unknown stream (whatever Options.StrictStreams says),
// a user who is not a member of the stream, or a malformed message. Safe for
// concurrent use.
func (s *Server) SendMessage(username, streamID, messageML string) (messageID string, err error) {
	u := s.users.lookup(username)
	if u == nil {
		return "", fmt.Errorf("symauthtest: SendMessage: unknown user %s", shown(username))
	}
	m, _, perr := s.post(u, streamID, messageML, "", nil, true)
	if perr != nil {
		return "", fmt.Errorf("symauthtest: SendMessage: %s", perr.msg)
	}
	return m.ID, nil
}

// Messages returns the messages posted in the stream streamID (the last
// MaxStreamMessages of them), oldest first: what the bot under test sent
// there, and what SendMessage did. It returns nil for a stream without
// messages. The caller may modify the returned slice. Safe for concurrent
// use.
func (s *Server) Messages(streamID string) []Message {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	log := s.streams.logs[streamID]
	if len(log) == 0 {
		return nil
	}
	out := make([]Message, len(log))
	for i, m := range log {
		out[i] = *m
	}
	return out
}

// postError is why a message was refused: an HTTP status and a message
// safe to show.
type postError struct {
	status int
	msg    string
}

// post checks and posts a message of u in stream sid, records it and
// delivers it to the members' datafeeds. data is its EntityJSON ("" for
// none). strict refuses an unknown stream; without it (a call through the
// agent without Options.StrictStreams) an unknown stream is taken as one
// whose only member is u, the message is not checked (as the fake did
// before it knew streams), and the returned stream is nil.
func (s *Server) post(u *user, sid, messageML, data string, attachments []Attachment, strict bool) (*Message, *stream, *postError) {
	st := s.streams.lookup(sid)
	if st == nil && strict {
		return nil, nil, &postError{http.StatusBadRequest, "stream " + shown(sid) + " not found"}
	}
	presentation, err := toPresentationML(messageML)
	if err != nil {
		if st != nil {
			return nil, nil, &postError{http.StatusBadRequest, err.Error()}
		}
		presentation = presentationMLOpen + escapeXML(messageML) + presentationMLClose
	}
	if data == "" {
		data = "{}"
	} else if err := checkEntityJSON(data); err != nil && st != nil {
		return nil, nil, &postError{http.StatusBadRequest, err.Error()}
	}
	if st != nil && !st.members[u.id] {
		return nil, nil, &postError{http.StatusForbidden, "user " + shown(u.name) + " is not a member of stream " + shown(sid)}
	}
	m := &Message{
		ID:             newMessageID(),
		StreamID:       sid,
		UserID:         u.id,
		Username:       u.name,
		MessageML:      messageML,
		PresentationML: presentation,
		Data:           data,
		Attachments:    attachments,
		Time:           s.now(),
	}
	members := []int64{u.id}
	if st != nil {
		members = st.memberIDs()
	}
	ev := &v4Event{
		ID:        newMessageID(),
		MessageID: m.ID,
		Timestamp: m.Time.UnixMilli(),
		Type:      "MESSAGESENT",
		Initiator: v4Initiator{User: v4UserOf(u)},
		Payload:   v4Payload{MessageSent: &v4MessageSent{Message: v4MessageOf(m, u, st, true)}},
	}
	// Recording and delivering under the streams' lock keeps every
	// datafeed's events in the order of Messages.
	s.streams.mu.Lock()
	s.streams.record(m, st != nil)
	dropping := s.feeds.deliver(members, ev)
	s.streams.mu.Unlock()
	for _, id := range dropping {
		s.logf("datafeed %s: more than %d events wait to be read: the oldest are dropped", id, MaxDatafeedEvents)
	}
	return m, st, nil
}

// toPresentationML checks a message as the agent's MessageML parser does
// (not blank, no control characters, well-formed XML without DOCTYPE, one
// root element, <messageML> or <div>) and returns its PresentationML.
// Errors name the problem as the agent does.
func toPresentationML(message string) (string, error) {
	if strings.TrimSpace(message) == "" {
		return "", refusef("Error parsing message: the message cannot be null or empty")
	}
	for _, c := range message {
		if c < ' ' && c != '\n' && c != '\r' && c != '\t' {
			return "", refusef("Invalid control characters in message")
		}
	}
	d := xml.NewDecoder(strings.NewReader(message))
	var (
		root              string
		depth             int
		innerStart, inner = int64(-1), ""
	)
	for {
		before := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", refusef("Invalid messageML: %s", err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					return "", refusef("Invalid messageML: content after the root element")
				}
				root = t.Name.Local
				if t.Name.Space != "" || (root != "messageML" && root != "div") {
					return "", refusef("Root tag must be <messageML> or <div>")
				}
				innerStart = d.InputOffset()
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				inner = message[innerStart:before]
			}
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return "", refusef("Invalid messageML: text outside the root element")
			}
		case xml.Directive:
			return "", refusef("Invalid messageML: DOCTYPE is disallowed")
		}
	}
	if root == "" {
		return "", refusef("Invalid messageML: no root element")
	}
	return presentationMLOpen + inner + presentationMLClose, nil
}

// escapeXML returns text escaped for XML character data.
func escapeXML(text string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(text)) // a strings.Builder never fails
	return b.String()
}

// checkEntityJSON checks a message's data as the agent does: a JSON object,
// or a JSON string holding one.
func checkEntityJSON(data string) error {
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return refusef("Error parsing EntityJSON: %s", err.Error())
	}
	if text, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return refusef("Error parsing EntityJSON: %s", err.Error())
		}
	}
	if _, ok := v.(map[string]any); !ok {
		return refusef("Error parsing EntityJSON: provided content is not a JSON object")
	}
	return nil
}

// v4Message is the agent's V4Message, as message create answers it and
// datafeeds deliver it.
type v4Message struct {
	MessageID          string         `json:"messageId"`
	Timestamp          int64          `json:"timestamp"`
	Message            string         `json:"message"`
	Data               string         `json:"data"`
	Attachments        []v4Attachment `json:"attachments"`
	User               v4User         `json:"user"`
	Stream             v4Stream       `json:"stream"`
	ExternalRecipients *bool          `json:"externalRecipients,omitempty"` // only on real time messaging
	OriginalFormat     string         `json:"originalFormat"`
}

// v4Attachment is the agent's V4AttachmentInfo.
type v4Attachment struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Size   int64      `json:"size"`
	Images []struct{} `json:"images"`
}

// v4User is the agent's V4User.
type v4User struct {
	UserID      int64  `json:"userId"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email,omitempty"`
	Username    string `json:"username"`
}

// v4Stream is the agent's V4Stream.
type v4Stream struct {
	StreamID   string `json:"streamId"`
	StreamType string `json:"streamType,omitempty"`
	RoomName   string `json:"roomName,omitempty"`
}

// v4AttachmentsOf describes attachments as the agent does.
func v4AttachmentsOf(attachments []Attachment) []v4Attachment {
	out := make([]v4Attachment, len(attachments))
	for i, a := range attachments {
		out[i] = v4Attachment{ID: a.ID, Name: a.Name, Size: a.Size, Images: []struct{}{}}
	}
	return out
}

// v4UserOf describes u as the agent does.
func v4UserOf(u *user) v4User {
	first, last := nameParts(u.name)
	return v4User{UserID: u.id, FirstName: first, LastName: last, DisplayName: u.name, Email: emailOf(u), Username: u.name}
}

// v4MessageOf describes m, sent by u in st (nil: an unknown stream), as the
// agent does; realTime adds what only datafeed events carry.
func v4MessageOf(m *Message, u *user, st *stream, realTime bool) v4Message {
	v := v4Message{
		MessageID:      m.ID,
		Timestamp:      m.Time.UnixMilli(),
		Message:        m.PresentationML,
		Data:           m.Data,
		Attachments:    v4AttachmentsOf(m.Attachments),
		User:           v4UserOf(u),
		Stream:         v4Stream{StreamID: m.StreamID},
		OriginalFormat: originalFormatV2,
	}
	if st != nil {
		v.Stream.StreamType, v.Stream.RoomName = st.typ, st.name
	}
	if realTime {
		v.ExternalRecipients = new(bool)
	}
	return v
}

// handleIMCreate serves POST /pod/v1/im/create: a JSON list of user ids,
// answered with {"id": streamId}, the IM or MIM of those users and the
// caller (see CreateIM).
func (s *Server) handleIMCreate(w http.ResponseWriter, r *http.Request, g grant) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != contentTypeJSON {
		s.refuse(r, "Content-Type is not application/json")
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var ids []int64
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(&ids); err != nil {
		s.refuse(r, "the body is not a JSON list of user ids")
		writeError(w, http.StatusBadRequest, "the body must be a JSON list of user ids, such as [7215545058313]")
		return
	}
	if len(ids) == 0 {
		s.refuse(r, "no user id")
		writeError(w, http.StatusBadRequest, "at least one user id must be given")
		return
	}
	members := map[int64]bool{g.user.id: true}
	for _, id := range ids {
		if s.users.lookupID(id) == nil {
			msg := "user id " + strconv.FormatInt(id, 10) + " not found"
			s.refuse(r, msg)
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		members[id] = true
	}
	if len(members) < 2 {
		s.refuse(r, "an IM with the caller alone")
		writeError(w, http.StatusBadRequest, "at least one user id other than the caller's must be given")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID string `json:"id"`
	}{s.streams.im(members).id})
}

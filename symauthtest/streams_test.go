package symauthtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// postJSON sends POST s.URL+path with a JSON body and the given tokens.
func postJSON(t *testing.T, s *Server, path, body, session, km string) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return do(t, s.Client(), withTokens(req, session, km))
}

// sendMessage posts a message through the agent with the given fields.
func sendMessage(t *testing.T, s *Server, sid, session, km string, fields ...string) result {
	t.Helper()
	body, ct := multipartBody(t, fields...)
	req := newRequest(t, http.MethodPost, s.URL+PathMessageCreate(sid), body)
	req.Header.Set("Content-Type", ct)
	return do(t, s.Client(), withTokens(req, session, km))
}

func TestUserSearch(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	st, _ := loginBoth(t, s, key, "bot")
	newUser(t, s, "alice.smith")
	newUser(t, s, "bob@acme.com")
	aliceID, _ := s.UserID("alice.smith")
	bobID, _ := s.UserID("bob@acme.com")
	search := func(query string) result {
		return get(t, s, PathUsers+"?"+query, st, "")
	}
	users := func(r result) v2UserList {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("search: %d %s", r.status, r.body)
		}
		var l v2UserList
		if err := json.Unmarshal([]byte(r.body), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	ids := strconv.FormatInt(aliceID, 10) + "," + strconv.FormatInt(bobID, 10) + ",1," + strconv.FormatInt(aliceID, 10)
	l := users(search("uid=" + ids + "&local=true"))
	if len(l.Users) != 2 || l.Users[0].ID != aliceID || l.Users[1].ID != bobID || len(l.Errors) != 0 {
		t.Fatalf("by uid: %+v", l)
	}
	if a := l.Users[0]; a.Username != "alice.smith" || a.EmailAddress != "alice.smith@example.com" ||
		a.FirstName != "alice" || a.LastName != "smith" || a.DisplayName != "alice.smith" {
		t.Errorf("alice = %+v", a)
	}
	l = users(search("email=BOB@acme.com,alice.smith@example.com"))
	if len(l.Users) != 2 || l.Users[0].ID != bobID || l.Users[1].ID != aliceID {
		t.Errorf("by email: %+v", l)
	}
	l = users(search("username=bot,%20alice.smith%20,nobody"))
	if len(l.Users) != 2 || l.Users[0].Username != "bot" || l.Users[1].Username != "alice.smith" {
		t.Errorf("by username: %+v", l)
	}
	l = users(search("uid=x1," + strconv.FormatInt(aliceID, 10)))
	if len(l.Users) != 1 || len(l.Errors) != 1 || l.Errors[0] != (userError{Error: "invalid.format", ID: "x1"}) {
		t.Errorf("malformed uid: %+v", l)
	}
	l = users(search("email=nope"))
	if len(l.Users) != 0 || len(l.Errors) != 1 || l.Errors[0].Email != "nope" {
		t.Errorf("malformed email: %+v", l)
	}
	for _, q := range []string{"uid=1", "username=nobody", "email=nobody@example.com", "username=bot&active=false"} {
		if r := search(q); r.status != http.StatusNoContent || r.body != "" {
			t.Errorf("%s: %d %q, want 204 without a body", q, r.status, r.body)
		}
	}
	for q, msg := range map[string]string{
		"":                       "exactly one of",
		"uid=1&username=bot":     "exactly one of",
		"uid=" + many(101):       "up to 100",
		"username=bot&local=yes": "local parameter must be true or false",
	} {
		wantError(t, search(q), http.StatusBadRequest, msg)
	}
	if r := search("uid=" + many(100)); r.status != http.StatusNoContent {
		t.Errorf("100 entries: %d %s", r.status, r.body)
	}
	wantError(t, get(t, s, PathUsers+"?uid=1", "", ""), http.StatusUnauthorized, "Invalid session")
	wantError(t, postJSON(t, s, PathUsers, "{}", st, ""), http.StatusMethodNotAllowed, "use GET")
}

// many returns n comma-separated uids.
func many(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(parts, ",")
}

func TestIMCreate(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	st, _ := loginBoth(t, s, key, "bot")
	botID, _ := s.UserID("bot")
	aliceKey := newUser(t, s, "alice")
	aliceST, _ := loginBoth(t, s, aliceKey, "alice")
	aliceID, _ := s.UserID("alice")
	newUser(t, s, "carol")
	carolID, _ := s.UserID("carol")
	create := func(session string, ids ...int64) string {
		t.Helper()
		b, _ := json.Marshal(ids)
		r := postJSON(t, s, PathIMCreate, string(b), session, "")
		if r.status != http.StatusOK {
			t.Fatalf("im create %v: %d %s", ids, r.status, r.body)
		}
		var answer struct{ ID string }
		if err := json.Unmarshal([]byte(r.body), &answer); err != nil || answer.ID == "" {
			t.Fatalf("im create answer %s: %v", r.body, err)
		}
		return answer.ID
	}
	im := create(st, aliceID)
	if len(im) != 34 || strings.ContainsAny(im, "+/=") {
		t.Errorf("stream id %q is not shaped like Symphony's", im)
	}
	// The same set of users gets the same IM, whoever asks, duplicates
	// ignored; the caller is implicitly a member.
	if again := create(aliceST, botID, botID); again != im {
		t.Errorf("alice's IM with the bot = %q, want %q", again, im)
	}
	if again := create(st, aliceID, botID); again != im {
		t.Errorf("listing the caller too = %q, want %q", again, im)
	}
	if id, err := s.CreateIM("alice", "bot"); err != nil || id != im {
		t.Errorf("CreateIM = %q, %v; want %q", id, err, im)
	}
	mim := create(st, aliceID, carolID)
	if mim == im {
		t.Error("the MIM is the IM")
	}
	if id, _ := s.CreateIM("carol", "alice", "bot"); id != mim {
		t.Errorf("CreateIM of the MIM = %q, want %q", id, mim)
	}
	if st := s.streams.lookup(mim); st.typ != streamMIM || s.streams.lookup(im).typ != streamIM {
		t.Errorf("stream types %q and %q", s.streams.lookup(im).typ, st.typ)
	}

	for body, msg := range map[string]string{
		"[]":                    "at least one user id",
		"{}":                    "JSON list of user ids",
		"[1]":                   "user id 1 not found",
		"[" + itoa(botID) + "]": "other than the caller",
	} {
		wantError(t, postJSON(t, s, PathIMCreate, body, st, ""), http.StatusBadRequest, msg)
	}
	req := newRequest(t, http.MethodPost, s.URL+PathIMCreate, bytes.NewBufferString("[1]"))
	wantError(t, do(t, s.Client(), withTokens(req, st, "")), http.StatusUnsupportedMediaType, "application/json")
	wantError(t, get(t, s, PathIMCreate, st, ""), http.StatusMethodNotAllowed, "use POST")
	wantError(t, postJSON(t, s, PathIMCreate, "[1]", "", ""), http.StatusUnauthorized, "Invalid session")

	for _, names := range [][]string{{"alice"}, {"alice", "alice"}, {"alice", "nobody"}, nil} {
		if _, err := s.CreateIM(names...); err == nil {
			t.Errorf("CreateIM(%q) succeeded", names)
		}
	}
	if _, err := s.CreateRoom("empty"); err == nil {
		t.Error("CreateRoom without members succeeded")
	}
	if _, err := s.CreateRoom("r", "nobody"); err == nil || !strings.Contains(err.Error(), `unknown user "nobody"`) {
		t.Errorf("CreateRoom with an unknown user: %v", err)
	}
	r1, _ := s.CreateRoom("r", "alice")
	r2, _ := s.CreateRoom("r", "alice")
	if r1 == r2 || r1 == "" {
		t.Errorf("two rooms %q and %q", r1, r2)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestMessageCreateInStreams(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	botID, _ := s.UserID("bot")
	newUser(t, s, "alice")
	newUser(t, s, "carol")
	im, err := s.CreateIM("bot", "alice")
	if err != nil {
		t.Fatal(err)
	}
	room, _ := s.CreateRoom("Ops", "bot", "alice")

	r := sendMessage(t, s, im, st, kt, "message", `<messageML>Hello <b>alice</b></messageML>`, "data", `{"x":{"type":"t"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var m v4Message
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	want := `<div data-format="PresentationML" data-version="2.0">Hello <b>alice</b></div>`
	if m.Message != want || m.Data != `{"x":{"type":"t"}}` || m.Stream != (v4Stream{StreamID: im, StreamType: "IM"}) ||
		m.User.UserID != botID || m.User.Email != "bot@example.com" || m.Timestamp != clock.Now().UnixMilli() ||
		m.OriginalFormat != "com.symphony.messageml.v2" || m.ExternalRecipients != nil || m.MessageID == "" {
		t.Errorf("answer = %+v", m)
	}
	r = sendMessage(t, s, room, st, kt, "message", `<div data-format="PresentationML" data-version="2.0"><p>hi</p></div>`)
	if !strings.Contains(r.body, `"message":"\u003cdiv data-format=\"PresentationML\" data-version=\"2.0\"\u003e\u003cp\u003ehi\u003c/p\u003e\u003c/div\u003e"`) ||
		!strings.Contains(r.body, `"streamType":"ROOM","roomName":"Ops"`) {
		t.Errorf("PresentationML in a room: %s", r.body)
	}

	// Refused as the agent's MessageML parser refuses.
	for msg, reason := range map[string]string{
		"hello":                           "Invalid messageML",
		"<messageML>unclosed":             "Invalid messageML",
		"<messageML><b>x</i></messageML>": "Invalid messageML",
		"<p>x</p>":                        "Root tag must be <messageML> or <div>",
		"<x:messageML xmlns:x='u'>a</x:messageML>": "Root tag must be",
		"<messageML>a</messageML><messageML/>":     "content after the root element",
		"<messageML>a</messageML> trailing":        "text outside the root element",
		"<!DOCTYPE x><messageML>a</messageML>":     "DOCTYPE",
		"<messageML>&nbsp;</messageML>":            "Invalid messageML",
		"   ":                                      "cannot be null or empty",
		"<messageML>\x01</messageML>":              "Invalid control characters",
		"<!-- only a comment -->":                  "no root element",
	} {
		wantError(t, sendMessage(t, s, im, st, kt, "message", msg), http.StatusBadRequest, reason)
	}
	for data, reason := range map[string]string{
		"[1]":   "not a JSON object",
		"{":     "Error parsing EntityJSON",
		`"[1]"`: "not a JSON object",
		`"{"`:   "Error parsing EntityJSON",
	} {
		wantError(t, sendMessage(t, s, im, st, kt, "message", "<messageML>x</messageML>", "data", data), http.StatusBadRequest, reason)
	}
	if r := sendMessage(t, s, im, st, kt, "message", "<messageML>x</messageML>", "data", `"{\"a\":1}"`); r.status != http.StatusOK {
		t.Errorf("EntityJSON as a JSON string: %d %s", r.status, r.body)
	}
	// A stream the bot is not in.
	other, _ := s.CreateIM("alice", "carol")
	wantError(t, sendMessage(t, s, other, st, kt, "message", "<messageML>x</messageML>"), http.StatusForbidden, `user "bot" is not a member`)

	// Without StrictStreams an unknown stream takes anything, as before.
	r = sendMessage(t, s, "unknown", st, kt, "message", "plain <text")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"message":"plain \u003ctext"`) {
		t.Errorf("unknown stream: %d %s", r.status, r.body)
	}
	got := s.Messages("unknown")
	if len(got) != 1 || got[0].PresentationML != `<div data-format="PresentationML" data-version="2.0">plain &lt;text</div>` {
		t.Errorf("Messages(unknown) = %+v", got)
	}

	msgs := s.Messages(im)
	if len(msgs) != 2 {
		t.Fatalf("Messages(im) = %+v", msgs)
	}
	if g := msgs[0]; g.ID != m.MessageID || g.StreamID != im || g.UserID != botID || g.Username != "bot" ||
		g.MessageML != `<messageML>Hello <b>alice</b></messageML>` || g.PresentationML != want ||
		g.Data != `{"x":{"type":"t"}}` || !g.Time.Equal(clock.Now()) {
		t.Errorf("Messages(im)[0] = %+v", g)
	}
	msgs[0].ID = "changed"
	if s.Messages(im)[0].ID == "changed" {
		t.Error("Messages returns the server's own values")
	}
	if s.Messages("never") != nil {
		t.Error("Messages of a stream without messages is not nil")
	}

	strict := start(t, Options{StrictStreams: true})
	key2 := newUser(t, strict, "bot")
	st2, kt2 := loginBoth(t, strict, key2, "bot")
	wantError(t, sendMessage(t, strict, "unknown", st2, kt2, "message", "<messageML>x</messageML>"), http.StatusBadRequest, `stream "unknown" not found`)
}

func TestSendMessage(t *testing.T) {
	s := start(t, Options{})
	newUser(t, s, "alice")
	newUser(t, s, "bob")
	newUser(t, s, "carol")
	im, _ := s.CreateIM("alice", "bob")
	id, err := s.SendMessage("alice", im, "<messageML>hi bob</messageML>")
	if err != nil || id == "" {
		t.Fatalf("SendMessage = %q, %v", id, err)
	}
	if m := s.Messages(im); len(m) != 1 || m[0].ID != id || m[0].Username != "alice" || m[0].Data != "{}" {
		t.Errorf("Messages = %+v", m)
	}
	for _, tc := range []struct{ user, stream, msg, want string }{
		{"nobody", im, "<messageML>x</messageML>", `unknown user "nobody"`},
		{"alice", "unknown", "<messageML>x</messageML>", `stream "unknown" not found`},
		{"carol", im, "<messageML>x</messageML>", `user "carol" is not a member`},
		{"alice", im, "x", "Invalid messageML"},
	} {
		if _, err := s.SendMessage(tc.user, tc.stream, tc.msg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SendMessage(%q, %q, %q) = %v, want an error containing %q", tc.user, tc.stream, tc.msg, err, tc.want)
		}
	}
}

func TestMessagesBounded(t *testing.T) {
	s := start(t, Options{})
	newUser(t, s, "alice")
	room, _ := s.CreateRoom("r", "alice")
	for i := range MaxStreamMessages + 5 {
		if _, err := s.SendMessage("alice", room, "<messageML>"+strconv.Itoa(i)+"</messageML>"); err != nil {
			t.Fatal(err)
		}
	}
	m := s.Messages(room)
	if len(m) != MaxStreamMessages || m[0].MessageML != "<messageML>5</messageML>" {
		t.Errorf("%d messages kept, the first %q", len(m), m[0].MessageML)
	}
	// Unknown streams: the oldest one's messages go first.
	u := &user{name: "alice", id: 1}
	for i := range maxLooseStreams + 1 {
		if _, _, err := s.post(u, "loose"+strconv.Itoa(i), "x", "", nil, false); err != nil {
			t.Fatal(err.msg)
		}
	}
	if s.Messages("loose0") != nil || s.Messages("loose1") == nil || s.Messages(room) == nil {
		t.Error("the oldest unknown stream's messages are kept, or the others are not")
	}
}

// Attachments (the multipart "attachment" parts) are answered as the agent's
// V4AttachmentInfo and kept, name and size, in Messages.
func TestMessageAttachments(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	newUser(t, s, "alice")
	im, err := s.CreateIM("bot", "alice")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	if err := form.WriteField("message", "<messageML>report</messageML>"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, content string }{{"a.csv", "1,2,3\n"}, {"b.txt", "hello"}} {
		part, err := form.CreateFormFile("attachment", f.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(part, f.content)
	}
	if err := form.Close(); err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, http.MethodPost, s.URL+PathMessageCreate(im), &body)
	req.Header.Set("Content-Type", form.FormDataContentType())
	r := do(t, s.Client(), withTokens(req, st, kt))
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var m v4Message
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].Name != "a.csv" || m.Attachments[0].Size != 6 ||
		m.Attachments[1].Name != "b.txt" || m.Attachments[1].Size != 5 || m.Attachments[0].ID == "" || m.Attachments[0].Images == nil {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	got := s.Messages(im)
	if len(got) != 1 || len(got[0].Attachments) != 2 || got[0].Attachments[1] != (Attachment{ID: m.Attachments[1].ID, Name: "b.txt", Size: 5}) {
		t.Fatalf("Messages = %+v", got)
	}
	// Without attachments, an empty list, as the agent answers.
	r = sendMessage(t, s, im, st, kt, "message", "<messageML>plain</messageML>")
	if !strings.Contains(r.body, `"attachments":[]`) {
		t.Errorf("no attachments: %s", r.body)
	}
}

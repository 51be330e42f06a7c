package symauth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// fileMessage is the multipart/form-data body of a message with one file
// attached, streamed from the file: the form's text and the part's header
// come before the file's bytes, the closing boundary after them. Every open
// re-opens the file, so the body can be sent again.
type fileMessage struct {
	path           string
	prefix, suffix []byte
	size           int64 // of the whole body
	contentType    string
	opens          atomic.Int32 // for the example's output
}

// newFileMessage prepares the body of messageML with the file at path
// attached. The boundary is fixed here, so that every open makes the same
// bytes as the Content-Type header announces.
func newFileMessage(messageML, path string) (*fileMessage, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	form := multipart.NewWriter(&buf)
	if err := form.WriteField("message", messageML); err != nil {
		return nil, err
	}
	if _, err := form.CreateFormFile("attachment", filepath.Base(path)); err != nil {
		return nil, err
	}
	prefix := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := form.Close(); err != nil { // writes the closing boundary
		return nil, err
	}
	suffix := bytes.Clone(buf.Bytes())
	return &fileMessage{
		path:        path,
		prefix:      prefix,
		suffix:      suffix,
		size:        int64(len(prefix)) + info.Size() + int64(len(suffix)),
		contentType: form.FormDataContentType(),
	}, nil
}

// open returns a new reader of the whole body; it is also the request's
// GetBody.
func (m *fileMessage) open() (io.ReadCloser, error) {
	f, err := os.Open(m.path)
	if err != nil {
		return nil, err
	}
	m.opens.Add(1)
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(m.prefix), f, bytes.NewReader(m.suffix)), f}, nil
}

// newRequest makes the POST of the message to url, with a body that the
// Transport can replay after a 401: GetBody re-opens the file.
func (m *fileMessage) newRequest(url string) (*http.Request, error) {
	body, err := m.open()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		body.Close()
		return nil, err
	}
	req.GetBody = m.open
	req.ContentLength = m.size
	req.Header.Set("Content-Type", m.contentType)
	return req, nil
}

// A message with a file attached, whose body is replayable: its GetBody
// re-opens the file, so when the session has ended, the Transport logs in
// again and sends the message a second time instead of returning the 401.
// (A body that cannot be re-obtained, such as an io.Pipe, gets its 401 back.)
func Example_attachment() {
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
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: srv.URL, Username: "my-bot", PrivateKey: key, HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: symauth.NewTransport(auth, srv.Client().Transport)}

	dir, err := os.MkdirTemp("", "symauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	report := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(report, []byte("ticket,status\n42,closed\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	send := func(messageML string) {
		msg, err := newFileMessage(messageML, report)
		if err != nil {
			log.Fatal(err)
		}
		req, err := msg.newRequest(srv.URL + "/agent/v4/stream/" + room + "/message/create")
		if err != nil {
			log.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var answer struct {
			MessageID string `json:"messageId"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: message id: %t, file opened %d times\n", resp.Status, answer.MessageID != "", msg.opens.Load())
	}

	send("<messageML>Today's report</messageML>")
	fmt.Println("sessions ended:", srv.RevokeSessions())
	send("<messageML>The report, <b>again</b></messageML>") // 401, login, replay
	fmt.Println("logins:", srv.Calls(symauthtest.PathLogin))
	fmt.Println("message creates:", srv.Calls(symauthtest.PathMessageCreate(room)))

	for _, m := range srv.Messages(room) {
		for _, a := range m.Attachments {
			fmt.Println(m.Username, m.MessageML, "with", a.Name, a.Size, "bytes")
		}
	}
	// Output:
	// 200 OK: message id: true, file opened 1 times
	// sessions ended: 1
	// 200 OK: message id: true, file opened 2 times
	// logins: 2
	// message creates: 3
	// my-bot <messageML>Today's report</messageML> with report.csv 24 bytes
	// my-bot <messageML>The report, <b>again</b></messageML> with report.csv 24 bytes
}

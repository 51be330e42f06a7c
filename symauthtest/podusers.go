package symauthtest

import (
	"net/http"
	"strconv"
	"strings"
)

// maxUserSearch is the most entries a search list of GET /pod/v3/users may
// hold, as the pod spec says.
const maxUserSearch = 100

// v2UserList is the pod's V2UserList.
type v2UserList struct {
	Users  []userV2    `json:"users"`
	Errors []userError `json:"errors,omitempty"`
}

// userError is the pod's UserError: an entry of a search list that is not
// well formed.
type userError struct {
	Error string `json:"error"`
	Email string `json:"email,omitempty"`
	ID    string `json:"id,omitempty"`
}

// searchUsers serves GET /pod/v3/users: exactly one of the comma-separated
// lists uid, email or username, of at most 100 entries; local and active
// are booleans. Every registered user is a local, active user. It answers
// the users found, in the order asked, each once; entries that are not
// well formed (a uid that is not an integer, an email without "@") are
// listed in errors as "invalid.format"; 204 without a body when it finds
// nobody and no entry is malformed.
func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var lists []string
	for _, name := range []string{"uid", "email", "username"} {
		if q.Get(name) != "" {
			lists = append(lists, name)
		}
	}
	if len(lists) != 1 {
		s.refuse(r, "not exactly one of uid, email and username")
		writeError(w, http.StatusBadRequest, "exactly one of the uid, email and username lists must be given")
		return
	}
	active := true
	for _, flag := range []string{"local", "active"} {
		v := q.Get(flag)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.refuse(r, flag+" is not a boolean")
			writeError(w, http.StatusBadRequest, "the "+flag+" parameter must be true or false")
			return
		}
		if flag == "active" {
			active = b
		}
	}
	var entries []string
	for e := range strings.SplitSeq(q.Get(lists[0]), ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	if len(entries) > maxUserSearch {
		s.refuse(r, "more than 100 entries")
		writeError(w, http.StatusBadRequest, "a search list may hold up to 100 elements")
		return
	}
	answer := v2UserList{Users: []userV2{}}
	seen := make(map[int64]bool)
	for _, e := range entries {
		var u *user
		switch lists[0] {
		case "uid":
			id, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				answer.Errors = append(answer.Errors, userError{Error: "invalid.format", ID: e})
				continue
			}
			u = s.users.lookupID(id)
		case "email":
			if !strings.Contains(e, "@") {
				answer.Errors = append(answer.Errors, userError{Error: "invalid.format", Email: e})
				continue
			}
			u = s.users.lookupEmail(e)
		default:
			u = s.users.lookup(e)
		}
		if u != nil && active && !seen[u.id] {
			seen[u.id] = true
			answer.Users = append(answer.Users, userV2Of(u))
		}
	}
	if len(answer.Users) == 0 && len(answer.Errors) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

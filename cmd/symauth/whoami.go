package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// sessionInfo is the part of the pod's UserV2 that whoami shows.
type sessionInfo struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
	Company      string `json:"company"`
}

func runWhoami(ctx context.Context, args []string, out, errOut io.Writer) int {
	var lf loginFlags
	fs := newFlagSet("whoami", "(--config FILE | --pod URL (--user NAME --key FILE | --cert FILE --sessionauth URL)) [flags]",
		"Logs the bot in, calls GET /pod/v2/sessioninfo and prints who the bot is. With --config, the\n"+
			"login, pod, proxy and trust store are those of the BDK 2.x configuration file.", errOut)
	lf.register(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if lf.configFile == "" && lf.pod == "" {
		return fail(errOut, "whoami", errors.New("--pod URL is needed to ask the pod who the bot is"))
	}
	l, err := lf.newLogin()
	if err != nil {
		return fail(errOut, "whoami", err)
	}
	ctx, cancel := context.WithTimeout(ctx, lf.timeout)
	defer cancel()
	info, err := fetchSessionInfo(ctx, l)
	if err != nil {
		return l.fail(errOut, "whoami", err)
	}
	fmt.Fprintf(out, "%s (user id %d)\n", info.Username, info.ID)
	if info.DisplayName != "" {
		fmt.Fprintf(out, "  display name: %s\n", info.DisplayName)
	}
	if info.EmailAddress != "" {
		fmt.Fprintf(out, "  email:        %s\n", info.EmailAddress)
	}
	if info.Company != "" {
		fmt.Fprintf(out, "  company:      %s\n", info.Company)
	}
	fmt.Fprintf(out, "  pod:          %s\n", l.podURL)
	return exitOK
}

// fetchSessionInfo logs in through the login's client and asks the pod who
// the session belongs to.
func fetchSessionInfo(ctx context.Context, l *login) (*sessionInfo, error) {
	defer l.client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.podURL+"/pod/v2/sessioninfo", nil)
	if err != nil {
		return nil, fmt.Errorf("the pod URL: %w", err)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /pod/v2/sessioninfo answered %s", resp.Status)
	}
	var info sessionInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("GET /pod/v2/sessioninfo: unexpected answer: %w", err)
	}
	return &info, nil
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// spinHost is the host the spin scenario parks requests on.
const spinHost = "spin.bench"

// spinRound is one park-and-release of n requests.
type spinRound struct {
	park     time.Duration   // from the first connect until all n are held
	release  []time.Duration // per request: from the API's 200 to its answer
	answered int             // answers with status 200
}

// spinResult is the spin scenario's medians over its rounds.
type spinResult struct {
	n      int
	rounds []spinRound
}

// runSpin parks n requests on spinHost (rule spin), switches the rule to
// proxy and times each answer from the moment the API said 200.
func (e *env) runSpin(ctx context.Context, t *target, n, rounds int) (spinResult, error) {
	res := spinResult{n: n}
	for r := 0; r < rounds; r++ {
		fmt.Fprintf(os.Stderr, "bench: spin, round %d/%d: %d held requests\n", r+1, rounds, n)
		sr, err := e.spinOnce(ctx, t, n)
		if err != nil {
			return res, err
		}
		res.rounds = append(res.rounds, sr)
	}
	return res, nil
}

func (e *env) spinOnce(ctx context.Context, t *target, n int) (spinRound, error) {
	var sr spinRound
	if err := putRule(ctx, t.api, spinHost, `["spin", {"timeout": 120}, false]`); err != nil {
		return sr, err
	}
	addr := strings.TrimPrefix(t.url, "http://")
	answers := make([]time.Time, n)
	var ok sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for i := range n {
		ok.Go(func() {
			err := heldRequest(ctx, addr, &answers[i])
			if err != nil {
				mu.Lock()
				firstErr = cmpOr(firstErr, err)
				mu.Unlock()
			}
		})
	}
	// All n held: the host's open_requests says so.
	deadline := time.Now().Add(30 * time.Second)
	for {
		open, err := openRequests(ctx, t.api, spinHost)
		if err == nil && open >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return sr, fmt.Errorf("spin: only %d of %d requests held after 30 s (%v)", open, n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	sr.park = time.Since(start)
	if err := putRule(ctx, t.api, spinHost, fmt.Sprintf(`["proxy", {"backends": ["127.0.0.1:%d"]}, false]`, e.bport)); err != nil {
		return sr, err
	}
	released := time.Now()
	ok.Wait()
	if firstErr != nil {
		return sr, fmt.Errorf("spin: %w", firstErr)
	}
	for _, at := range answers {
		if !at.IsZero() {
			sr.answered++
			sr.release = append(sr.release, max(at.Sub(released), 0))
		}
	}
	slices.Sort(sr.release)
	return sr, nil
}

// cmpOr returns a unless it is nil, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// heldRequest sends one GET for spinHost and records when a 200 arrives.
func heldRequest(ctx context.Context, addr string, at *time.Time) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+spinHost+"\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	now := time.Now()
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("held request answered %s", resp.Status)
	}
	*at = now
	return nil
}

// putRule sets one host's rule through the REST API.
func putRule(ctx context.Context, api, host, rule string) error {
	if err := apiPut(ctx, api+"/hostname/"+host+"/", strings.NewReader(rule)); err != nil {
		return fmt.Errorf("PUT %s %s: %w", host, rule, err)
	}
	return nil
}

// apiPut PUTs a JSON body to url and wants 200.
func apiPut(ctx context.Context, url string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s", resp.Status, msg)
	}
	return nil
}

// openRequests reads a host's open_requests from the REST API.
func openRequests(ctx context.Context, api, host string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/stats/"+host+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var s struct {
		Open int64 `json:"open_requests"`
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s.Open, err
}

// markdown renders the spin table: medians over the rounds.
func (s spinResult) markdown() string {
	var park, p50, p99, last []time.Duration
	answered := 0
	for _, r := range s.rounds {
		park = append(park, r.park)
		p50 = append(p50, quantile(r.release, 0.50))
		p99 = append(p99, quantile(r.release, 0.99))
		last = append(last, quantile(r.release, 1))
		answered += r.answered
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### spin release, %d held requests (Mantrid event_loops=1)\n\n", s.n)
	b.WriteString("| held | answered 200 | time to park all | release p50 | release p99 | last answer |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d of %d | %s | %s | %s | %s |\n", s.n, answered, s.n*len(s.rounds),
		fmtDur(medianDur(park)), fmtDur(medianDur(p50)), fmtDur(medianDur(p99)), fmtDur(medianDur(last)))
	fmt.Fprintf(&b, "\nMedians of %d round(s). Release: from the REST API's 200 for the new rule (proxy) to each answer's head at the client; the rule was spin while the requests arrived. No peer has an equivalent.\n", len(s.rounds))
	return b.String()
}

// quantile of sorted durations (q=1: the largest).
func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	i := int(q * float64(len(xs)-1))
	return xs[i]
}

func medianDur(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantile(s, 0.5)
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// sample is one reading of GET /process/.
type sample struct {
	at time.Duration // since the load started
	p  processInfo
}

// sampler reads Mantrid's /process/ every interval while the load runs.
// samples and errs are read after run returns; last is safe for
// concurrent use.
type sampler struct {
	api     *apiClient
	every   time.Duration
	start   time.Time
	samples []sample
	errs    []string

	mu     sync.Mutex
	latest sample
}

// run samples at once and then every s.every until stop is closed.
func (s *sampler) run(stop <-chan struct{}) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.take()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) take() {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	p, err := s.api.process(ctx)
	if err != nil {
		s.errs = append(s.errs, fmt.Sprintf("%s: %v", time.Since(s.start).Round(time.Second), err))
		return
	}
	smp := sample{at: time.Since(s.start), p: p}
	s.samples = append(s.samples, smp)
	s.mu.Lock()
	s.latest = smp
	s.mu.Unlock()
}

// last returns the latest sample.
func (s *sampler) last() sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

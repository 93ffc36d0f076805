package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// markEvery is how often the follower rewrites the revision file while
// changes come in.
const markEvery = time.Second

// genSwitch is a change of the pointer key seen by a watch: the new
// generation ("" when the key was deleted) and the revision of the change.
type genSwitch struct {
	gen string
	rev int64
}

// errWatchClosed is a watch channel closed without an error from etcd.
var errWatchClosed = errors.New("etcd watch closed")

// follow keeps the table in step with etcd until ctx ends: a session
// catches up and watches; when it fails, the link is marked down and a new
// session starts after a pause.
func (s *Store) follow(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		s.setConnected(false, err)
		if err := s.saveMark(); err != nil {
			s.log.Warn("cannot save the etcd revision file", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay):
		}
	}
}

// session reads the pointer key, reloads the whole generation if this
// node's copy cannot be caught up from its revision, then follows the
// watch; it returns when the watch or a request fails.
func (s *Store) session(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	s.mu.Lock()
	s.restart = cancel
	s.mu.Unlock()
	gen, rev, err := s.current(ctx)
	if err != nil {
		return err
	}
	s.setConnected(true, nil)
	s.mu.Lock()
	applied, mine := s.applied, s.gen
	s.mu.Unlock()
	if applied == 0 || applied > rev || gen != mine {
		if err := s.reload(ctx, gen, rev); err != nil {
			return err
		}
		applied = rev
	}
	for {
		sw, err := s.watch(ctx, gen, applied)
		switch {
		case errors.Is(err, errCompacted):
			s.log.Info("etcd compacted past this node's revision; reloading the rules", "revision", applied)
			if gen, rev, err = s.current(ctx); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			gen, rev = sw.gen, sw.rev
		}
		if err := s.reload(ctx, gen, rev); err != nil {
			return err
		}
		applied = rev
	}
}

// errCompacted is a watch refused because etcd compacted its start away.
var errCompacted = errors.New("etcd compacted the revision watched from")

// current reads the pointer key: the generation in force and the revision
// of the read. It also learns the cluster's id; another cluster than the
// one the revision file names makes the node reload.
func (s *Store) current(ctx context.Context) (string, int64, error) {
	gctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	resp, err := s.cli.Get(gctx, s.currentKey())
	if err != nil {
		return "", 0, err
	}
	s.mu.Lock()
	if s.cluster != resp.Header.ClusterId {
		s.cluster, s.applied = resp.Header.ClusterId, 0
	}
	s.mu.Unlock()
	gen := ""
	if len(resp.Kvs) > 0 {
		gen = string(resp.Kvs[0].Value)
	}
	return gen, resp.Header.Revision, nil
}

// watch applies the changes of generation gen after revision from until
// the pointer key changes (returned) or the watch fails.
func (s *Store) watch(ctx context.Context, gen string, from int64) (*genSwitch, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	cur := s.cli.Watch(wctx, s.currentKey(), clientv3.WithRev(from+1))
	var hosts clientv3.WatchChan // nil (never ready) when there is no generation yet
	if gen != "" {
		hosts = s.cli.Watch(wctx, s.genPrefix(gen), clientv3.WithPrefix(), clientv3.WithRev(from+1))
	}
	lastMark := time.Now()
	for {
		var wr clientv3.WatchResponse
		var ok, pointer bool
		select {
		case wr, ok = <-cur:
			pointer = true
		case wr, ok = <-hosts:
		}
		if err := watchErr(ctx, wr, ok); err != nil {
			return nil, err
		}
		if pointer {
			for _, ev := range wr.Events {
				next := ""
				if ev.Type == clientv3.EventTypePut {
					next = string(ev.Kv.Value)
				}
				if next != gen {
					return &genSwitch{gen: next, rev: ev.Kv.ModRevision}, nil
				}
			}
			continue
		}
		if err := s.apply(ctx, gen, wr.Events); err != nil {
			return nil, err
		}
		if time.Since(lastMark) >= markEvery {
			lastMark = time.Now()
			if err := s.saveMark(); err != nil {
				s.log.Warn("cannot save the etcd revision file", "err", err)
			}
		}
	}
}

// watchErr says why a watch response ends the watch, or nil.
func watchErr(ctx context.Context, wr clientv3.WatchResponse, ok bool) error {
	switch {
	case !ok && ctx.Err() != nil:
		return ctx.Err()
	case !ok:
		return errWatchClosed
	case wr.CompactRevision != 0:
		return errCompacted
	case wr.Canceled:
		return fmt.Errorf("etcd watch canceled: %w", wr.Err())
	}
	return wr.Err()
}

// apply applies the events of one watch response through the cache, in
// order. A value that is not a valid rule (written by hand) is skipped
// and logged.
func (s *Store) apply(ctx context.Context, gen string, events []*clientv3.Event) error {
	for _, ev := range events {
		key, ok := s.keyOf(gen, ev.Kv.Key)
		if ok {
			ok = validKey(key)
		}
		switch {
		case !ok:
			s.log.Warn("etcd key skipped: not a rule key", "revision", ev.Kv.ModRevision)
		case ev.Type == clientv3.EventTypeDelete:
			if _, _, err := s.cache.DeleteAt(ctx, key, uint64(ev.Kv.ModRevision)); err != nil {
				return err
			}
		default:
			r, err := actions.ParseRule(ev.Kv.Value)
			if err != nil {
				s.log.Warn("etcd rule skipped: not a valid rule", "key", key, "revision", ev.Kv.ModRevision, "err", err)
				break
			}
			if _, err := s.cache.SetAt(ctx, key, r, uint64(ev.Kv.ModRevision)); err != nil {
				return err
			}
		}
		s.advance(ev.Kv.ModRevision, gen, false)
	}
	return nil
}

// validKey reports whether key is a rule key in NormalizeKey form.
func validKey(key string) bool {
	k, err := hostmap.NormalizeKey(key)
	return err == nil && k == key
}

// reload loads generation gen whole as of revision rev, page after page,
// and replaces the table with it in one step.
func (s *Store) reload(ctx context.Context, gen string, rev int64) error {
	start := time.Now()
	b := s.table.NewBuilder(0)
	skipped := 0
	if gen != "" {
		from, end := s.genPrefix(gen), clientv3.GetPrefixRangeEnd(s.genPrefix(gen))
		for {
			gctx, cancel := context.WithTimeout(ctx, s.wtimeout)
			resp, err := s.cli.Get(gctx, from, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(pageSize))
			cancel()
			if err != nil {
				return fmt.Errorf("reloading the rules from etcd: %w", err)
			}
			for _, kv := range resp.Kvs {
				key, _ := s.keyOf(gen, kv.Key)
				r, err := actions.ParseRule(kv.Value)
				if err != nil || !validKey(key) {
					skipped++
					continue
				}
				b.AddRev(key, r, uint64(kv.ModRevision)) // its ETag on every node
			}
			if !resp.More || len(resp.Kvs) == 0 {
				break
			}
			from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
	}
	if _, err := s.cache.ReplaceAt(ctx, b, uint64(rev)); err != nil {
		return err
	}
	s.advance(rev, gen, true)
	if skipped > 0 {
		s.log.Warn("etcd keys skipped at reload: not rules", "count", skipped)
	}
	s.log.Info("rules reloaded from etcd", "generation", gen, "revision", rev, "rules", s.table.Len(),
		"took", time.Since(start).Round(time.Millisecond))
	return s.saveMark()
}

// probe asks etcd for the pointer key every probeInterval; when it gets
// no answer, it marks the link down and ends the follower's session, which
// then reconnects and catches up by itself.
func (s *Store) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.cli.Get(pctx, s.currentKey())
		cancel()
		if err == nil || ctx.Err() != nil {
			continue
		}
		s.mu.Lock()
		up, restart := s.connected, s.restart
		s.mu.Unlock()
		if up {
			s.setConnected(false, err)
			if restart != nil {
				restart()
			}
		}
	}
}

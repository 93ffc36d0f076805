package etcdstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/store"
)

// ErrPrecondition is store.ErrPrecondition: a conditional write refused
// because the rule's revision was not the one expected.
var ErrPrecondition = store.ErrPrecondition

// bulkApplyTimeout bounds the wait of a bulk replace for this node to load
// the new generation: a million rules take seconds.
const bulkApplyTimeout = time.Minute

// maxGenRetries bounds how often a write retries because a bulk replace
// switched the generation under it.
const maxGenRetries = 8

// Set implements store.Store: one transaction, then the wait for this
// node's table to have it. The change's revision is etcd's, and so is
// the rule's ETag on every node.
func (s *Store) Set(ctx context.Context, key string, r *actions.Rule, c store.Cond) (uint64, error) {
	rev, err := s.put(ctx, key, r.AppendJSON(nil), c)
	if err != nil {
		return 0, err
	}
	return uint64(rev), s.waitApplied(ctx, rev, s.atimeout)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, c store.Cond) (bool, uint64, error) {
	existed, rev, err := s.del(ctx, key, c)
	if err != nil || !existed {
		return existed, 0, err
	}
	return true, uint64(rev), s.waitApplied(ctx, rev, s.atimeout)
}

// put writes value under key in the generation in force, in one etcd
// transaction that also checks c on the key (keyConds); a failed check is
// a *store.PreconditionError. It returns the commit's revision.
func (s *Store) put(ctx context.Context, key string, value []byte, c store.Cond) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	gen := s.generation()
	for range maxGenRetries {
		target, cmps, ops := gen, []clientv3.Cmp{s.genIs(gen)}, []clientv3.Op(nil)
		if gen == "" { // the first rule of the fleet starts the first generation
			if !c.Holds(false, 0) {
				return 0, &store.PreconditionError{Key: key}
			}
			target = newGen()
			ops = append(ops, clientv3.OpPut(s.currentKey(), target))
		}
		k := s.ruleKey(target, key)
		cmps = append(cmps, keyConds(k, c)...)
		ops = append(ops, clientv3.OpPut(k, string(value)))
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(s.currentKey()), clientv3.OpGet(k)).Commit()
		if err != nil {
			return 0, s.unavailable("commit the change", err)
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
		next := genOf(resp.Responses[0].GetResponseRange().Kvs)
		if next == gen {
			return 0, preconditionError(key, resp.Responses[1].GetResponseRange().Kvs)
		}
		gen = next
	}
	return 0, s.unavailable("commit the change", fmt.Errorf("the rules were replaced %d times during the change", maxGenRetries))
}

// del deletes key from the generation in force, in one transaction that
// checks c on the key. It reports whether the key existed and the
// commit's revision.
func (s *Store) del(ctx context.Context, key string, c store.Cond) (bool, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	gen := s.generation()
	for range maxGenRetries {
		if gen == "" {
			if !c.Holds(false, 0) {
				return false, 0, &store.PreconditionError{Key: key}
			}
			return false, 0, nil
		}
		k := s.ruleKey(gen, key)
		cmps := append([]clientv3.Cmp{s.genIs(gen)}, keyConds(k, c)...)
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(clientv3.OpDelete(k)).Else(clientv3.OpGet(s.currentKey()), clientv3.OpGet(k)).Commit()
		if err != nil {
			return false, 0, s.unavailable("commit the change", err)
		}
		if resp.Succeeded {
			return resp.Responses[0].GetResponseDeleteRange().Deleted > 0, resp.Header.Revision, nil
		}
		next := genOf(resp.Responses[0].GetResponseRange().Kvs)
		if next == gen {
			return false, 0, preconditionError(key, resp.Responses[1].GetResponseRange().Kvs)
		}
		gen = next
	}
	return false, 0, s.unavailable("commit the change", fmt.Errorf("the rules were replaced %d times during the change", maxGenRetries))
}

// preconditionError says what key had (kvs: its rule key read in the
// failed transaction) when its condition failed.
func preconditionError(key string, kvs []*mvccpb.KeyValue) error {
	if len(kvs) == 0 {
		return &store.PreconditionError{Key: key}
	}
	return &store.PreconditionError{Key: key, Exists: true, Rev: uint64(kvs[0].ModRevision)}
}

// keyConds returns the comparisons of a conditional write of rule key k:
// If-Match is k's ModRevision (the rule's revision on every node), any
// rule or none is whether k was created.
func keyConds(k string, c store.Cond) []clientv3.Cmp {
	var cmps []clientv3.Cmp
	switch {
	case c.IfMatch == store.AnyRev:
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), ">", 0))
	case c.IfMatch > 0:
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", int64(c.IfMatch)))
	}
	if c.IfNoneMatch {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
	}
	return cmps
}

// genIs compares the pointer key with gen ("": no pointer key yet).
func (s *Store) genIs(gen string) clientv3.Cmp {
	if gen == "" {
		return clientv3.Compare(clientv3.CreateRevision(s.currentKey()), "=", 0)
	}
	return clientv3.Compare(clientv3.Value(s.currentKey()), "=", gen)
}

// generation returns the generation this node last saw in force.
func (s *Store) generation() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// genOf returns the pointer key's value in a read of it, or "".
func genOf[KV interface{ GetValue() []byte }](kvs []KV) string {
	if len(kvs) == 0 {
		return ""
	}
	return string(kvs[0].GetValue())
}

// newGen returns a new generation name: 16 random hex digits, so that two
// nodes replacing at once never write into the same generation.
func newGen() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Replace implements store.Store: it writes the content of b as a new
// generation, switches the pointer key to it, waits for this node to load
// it, then deletes the old generation.
func (s *Store) Replace(ctx context.Context, b *hostmap.Builder) (uint64, error) {
	cut := b.Cut()
	gen := newGen()
	if err := s.writeGen(ctx, gen, cut); err != nil {
		s.dropGen(gen)
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	resp, err := s.cli.Put(wctx, s.currentKey(), gen, clientv3.WithPrevKV())
	cancel()
	if err != nil {
		s.log.Warn("bulk replace: the switch to the new generation failed; if it was not committed, its keys are left over",
			"prefix", s.genPrefix(gen), "err", err)
		return 0, s.unavailable("switch to the new rules", err)
	}
	err = s.waitApplied(ctx, resp.Header.Revision, max(s.atimeout, bulkApplyTimeout))
	if resp.PrevKv != nil {
		s.dropGen(string(resp.PrevKv.Value))
	}
	return uint64(resp.Header.Revision), err
}

// writeGen writes every rule of c under generation gen, in transactions
// of txnOps puts, bulkWriters at a time.
func (s *Store) writeGen(ctx context.Context, gen string, c *hostmap.Cut) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []clientv3.Op)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range bulkWriters {
		wg.Go(func() {
			for ops := range batches {
				tctx, tcancel := context.WithTimeout(ctx, s.wtimeout)
				_, err := s.cli.Txn(tctx).Then(ops...).Commit()
				tcancel()
				if err != nil {
					errOnce.Do(func() { firstErr = s.unavailable("store the new rules", err); cancel() })
				}
			}
		})
	}
	var r actions.Rule
	ops := make([]clientv3.Op, 0, txnOps)
	for i := 0; i < c.Len() && ctx.Err() == nil; i++ {
		h := c.Hit(i)
		h.UnpackInto(&r)
		ops = append(ops, clientv3.OpPut(s.ruleKey(gen, c.Key(i)), string(r.AppendJSON(nil))))
		if len(ops) == txnOps || i == c.Len()-1 {
			select {
			case batches <- ops:
			case <-ctx.Done():
			}
			ops = make([]clientv3.Op, 0, txnOps)
		}
	}
	close(batches)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// dropGen deletes generation gen's keys; a failure leaves them over and
// is logged with the prefix to delete by hand.
func (s *Store) dropGen(gen string) {
	ctx, cancel := context.WithTimeout(context.Background(), bulkApplyTimeout)
	defer cancel()
	if _, err := s.cli.Delete(ctx, s.genPrefix(gen), clientv3.WithPrefix()); err != nil {
		s.log.Warn("cannot delete an unused generation of rules; delete it with etcdctl del --prefix",
			"prefix", s.genPrefix(gen), "err", err)
	}
}

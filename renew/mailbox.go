package renew

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// Mailboxes shared by gmail.users watches (docs/DESIGN.md, "Mailboxes
// shared by watches"). Gmail keeps one watch per mailbox: every users.watch
// replaces it, and users.stop ends it for all. So a renewal asks for what
// every active watch of the mailbox needs, a watch's end stops Gmail's
// watch only when it was the mailbox's last, and otherwise the watches
// left have their renewal brought forward, so that the next pass narrows
// the filter to theirs.

// Mailboxes finds the active watches that share a mailbox (kind and
// subject).
type Mailboxes interface {
	WatchesOf(ctx context.Context, kind, subject string) ([]store.Watch, error)
}

// errMailboxBusy: a watch still using the mailbox is leased by another
// pass, so its renewal could not be brought forward; the grant is left
// stopping, and the next pass looks again.
var errMailboxBusy = errors.New("renew: another watch of the mailbox is in another pass's hands")

// sharesMailbox reports whether kind's watches share a mailbox.
func sharesMailbox(kind string) bool {
	k, _ := google.LookupKind(kind)
	return k.Delivery == google.DeliverGmail
}

// canonical puts w's subject in its canonical form (a gmail.users subject
// in lower case, as Gmail's pushes name the mailbox) before it is renewed,
// so that a watch stored otherwise (by Terraform, by an older watchrelay)
// is found by the mailbox's pushes from its next grant on.
func (r *run) canonical(ctx context.Context, w store.Watch) (store.Watch, bool) {
	subject := google.CanonicalSubject(w.Kind, w.Subject)
	if subject == w.Subject {
		return w, true
	}
	if err := r.store.UpdateWatch(ctx, w.ID, store.WatchUpdate{Subject: &subject}, r.opts.Now()); err != nil {
		r.log.Error("record the canonical subject", "watch", w.ID, "error", err)
		r.remaining(1)
		return w, false
	}
	w.Subject = subject
	return w, true
}

// mailboxRequest returns w as its watch call is to be made: for a watch of
// a shared mailbox, with the params that serve every active watch of the
// mailbox (google.MailboxParams), w's own included whether or not the
// store lists it.
func (r *run) mailboxRequest(ctx context.Context, w store.Watch) (store.Watch, error) {
	if !sharesMailbox(w.Kind) {
		return w, nil
	}
	ws, err := r.store.WatchesOf(ctx, w.Kind, w.Subject)
	if err != nil {
		return w, fmt.Errorf("renew: watches of the mailbox: %w", err)
	}
	params := []map[string]string{w.Params}
	for _, o := range ws {
		if o.ID != w.ID {
			params = append(params, o.Params)
		}
	}
	w.Params = google.MailboxParams(params)
	return w, nil
}

// mailboxInUse reports whether the grant c, about to be stopped, is of a
// mailbox an active watch still uses; users.stop would end that watch's
// pushes too. The channel's own watch counts: active, it is being served
// by a later grant (c is one a renewal replaced, left stopping by a pass
// that died before finishing it), which asked for what the mailbox needs.
// When other watches are what uses the mailbox, one of them has its
// renewal brought forward (renewSoon), unless one is due soon anyway, so
// that the filter narrows to theirs.
func (r *run) mailboxInUse(ctx context.Context, c store.Channel) (bool, error) {
	if !sharesMailbox(c.Kind) {
		return false, nil
	}
	ws, err := r.store.WatchesOf(ctx, c.Kind, google.CanonicalSubject(c.Kind, c.Subject))
	if err != nil {
		return false, fmt.Errorf("renew: watches of the mailbox: %w", err)
	}
	if len(ws) == 0 {
		return false, nil
	}
	for _, w := range ws {
		if w.ID == c.WatchID || w.ChannelID == "" || !w.ChannelExpiration.After(r.soon(w)) {
			return true, nil // served as it needs, or renewed by the next pass anyway
		}
	}
	return true, r.renewSoon(ctx, ws[0].ID)
}

// soon is where a watch's renewal is brought forward to: the far edge of
// its renewal window (google.RenewThreshold) from now. The next pass finds
// it due, and, coming within the window, not lapsed.
func (r *run) soon(w store.Watch) time.Time {
	return r.opts.Now().Add(google.RenewThreshold(w, r.opts.RenewBefore))
}

// renewSoon brings a watch's renewal forward: the copy of its channel's
// expiration that the due query reads becomes soon (its channel record
// keeps what Google granted), so the next pass renews it, and its
// users.watch carries the filter of the watches left. It is done under the
// watch's lease, so that it cannot overwrite a renewal in flight; a watch
// another pass holds is errMailboxBusy.
func (r *run) renewSoon(ctx context.Context, id string) error {
	w, cl, err := r.lease(ctx, id, nil)
	switch {
	case errors.Is(err, store.ErrLeased):
		return errMailboxBusy
	case err != nil:
		return err
	}
	var u store.WatchUpdate
	if soon := r.soon(w); w.State == store.WatchActive && w.ChannelID != "" && w.ChannelExpiration.After(soon) {
		u.ChannelExpiration = &soon
	}
	if !r.release(ctx, cl, u) {
		return fmt.Errorf("renew: bring forward the renewal of %s: not recorded", id)
	}
	return nil
}

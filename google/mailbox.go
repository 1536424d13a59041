package google

import (
	"encoding/json"
	"slices"
	"strings"
)

// A mailbox shared by gmail.users watches (docs/DESIGN.md, "Mailboxes
// shared by watches"). Gmail keeps one watch per mailbox, and users.watch
// replaces it, so every watch of a mailbox shares it: the users.watch that
// keeps it carries what all of them need (MailboxParams), each watch keeps
// only its own changes from the history it reads (selectGmail), and
// watches and pushes name the mailbox alike (CanonicalSubject).

// CanonicalSubject is the form of a watch's subject that watchrelay stores
// and matches. A gmail.users subject names a mailbox, which Gmail's pushes
// name by its primary address, and Google keeps that in lower case
// (GmailPush lowers it too): the subject is lowered, so that a push finds
// its watches with an equality query on either store. Other kinds'
// subjects are kept as given: only delegation reads them.
func CanonicalSubject(kind, subject string) string {
	if k, ok := kinds[kind]; ok && k.Delivery == DeliverGmail {
		return mailboxAddress(subject)
	}
	return subject
}

// mailboxAddress is a mailbox's address in its canonical form.
func mailboxAddress(address string) string { return strings.ToLower(address) }

// labelFilter is a gmail.users watch's label filter, from its params:
// labelIds, and labelFilterBehavior (include, Gmail's default, or
// exclude). No labels selects every change.
type labelFilter struct {
	labels  []string
	exclude bool
}

func filterOf(p map[string]string) labelFilter {
	return labelFilter{labels: splitList(p["labelIds"]), exclude: p["labelFilterBehavior"] == "exclude"}
}

// holds reports whether a message with labels is in the filter's scope:
// it has one of the filter's labels (include), or none of them (exclude).
func (f labelFilter) holds(labels []string) bool {
	if len(f.labels) == 0 {
		return true
	}
	hit := slices.ContainsFunc(labels, func(l string) bool { return slices.Contains(f.labels, l) })
	return hit != f.exclude
}

// MailboxParams returns the users.watch params that serve every watch of
// one mailbox, given the params of each (its active gmail.users watches):
// the narrowest single label filter that selects every change any of them
// selects.
//
//   - A watch with no labelIds wants every change: no filter.
//   - All include: include the union of their labels. A message with one
//     of a watch's labels has one of the union's.
//   - All exclude: exclude the labels every one of them excludes (the
//     intersection), or no filter when there is none. A message a watch
//     wants has none of that watch's labels, so none of the intersection;
//     and no wider list will do, since a label one watch does not exclude
//     may be on a message that watch wants.
//   - Include beside exclude: no filter. An include list misses a message
//     with only unlisted labels, which the exclude watch wants; an exclude
//     list drops a message the include watch wants once it also carries
//     one of the listed labels.
//
// The labels come sorted and without repeats, so that whichever watch of
// the mailbox renews, Gmail is asked for the same filter.
func MailboxParams(params []map[string]string) map[string]string {
	var union, common []string
	exclude := false
	for i, p := range params {
		f := filterOf(p)
		switch {
		case len(f.labels) == 0, i > 0 && f.exclude != exclude:
			return map[string]string{}
		case i == 0:
			exclude, common = f.exclude, f.labels
		default:
			common = slices.DeleteFunc(slices.Clone(common), func(l string) bool { return !slices.Contains(f.labels, l) })
		}
		union = append(union, f.labels...)
	}
	labels, behavior := union, "include"
	if exclude {
		labels, behavior = common, "exclude"
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	if len(labels) == 0 {
		return map[string]string{}
	}
	return map[string]string{"labelIds": strings.Join(labels, ","), "labelFilterBehavior": behavior}
}

// selectGmail keeps the items of a Gmail read that the watch's own label
// filter selects: Gmail's watch of the mailbox may carry a wider one
// (MailboxParams), and its history is the whole mailbox's. A change is the
// watch's when its message is in the watch's scope before the change or
// after it, so a watch of a label hears of a message entering it and of
// one leaving it. A message added or deleted with no labels named goes to
// every watch of the mailbox: Gmail names a deleted message by id and
// thread only, nothing says it is not a watch's, and a removal of a
// message a subscriber never saw costs it nothing, where a removal missed
// leaves a message it keeps forever. An item that is not a Gmail change
// (none is) is kept.
func selectGmail(p map[string]string, items []Item) []Item {
	f := filterOf(p)
	if len(f.labels) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(it Item) bool {
		var c gmailChange
		if json.Unmarshal(it.JSON, &c) != nil {
			return false
		}
		return !f.selects(c)
	})
}

// selects reports whether the change c is in the filter's scope, before
// or after it.
func (f labelFilter) selects(c gmailChange) bool {
	after := c.Message.LabelIDs
	switch c.Change {
	case gmailLabelsAdded:
		before := slices.DeleteFunc(slices.Clone(after), func(l string) bool { return slices.Contains(c.LabelIDs, l) })
		return f.holds(before) || f.holds(after)
	case gmailLabelsRemoved:
		return f.holds(append(slices.Clone(after), c.LabelIDs...)) || f.holds(after)
	}
	return len(after) == 0 || f.holds(after)
}

package changes

import (
	"context"
	"errors"

	"cloud.google.com/go/pubsub/v2"
)

// Pull feeds Sync from a pull subscription of the events topic, until ctx
// ends: the wiring of `watchrelay serve` and the demo, on the emulators or
// the embedded defaults, where no push endpoint can be reached. Each
// message is handled as a push delivery would be: acknowledged on success
// or when it is not a notification, nacked (delivered again) on a
// transient failure; one that is not an event at all is acknowledged with a
// warning, as there is no dead-letter topic here. The subscription must be unordered (see
// event.SubscribeUnordered), or a storm would not coalesce.
func (s *Syncer) Pull(ctx context.Context, sub *pubsub.Subscriber) error {
	err := sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		_, err := s.Deliver(ctx, m.Attributes, m.Data, m.ID)
		switch {
		case errors.Is(err, ErrBadMessage):
			// Locally there is no dead-letter topic to set it aside
			// in; it stays on the topic for every other subscriber.
			s.log.Warn("message refused", "message", m.ID, "error", err)
			m.Ack()
		case err != nil:
			m.Nack()
		default:
			m.Ack()
		}
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

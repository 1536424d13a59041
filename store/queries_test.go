package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// need is the composite index a query needs: its equality fields, in any
// order, then its ordering fields as the query orders them.
type need struct {
	collection string
	equality   []string
	order      []IndexField
}

func (n need) String() string {
	return fmt.Sprintf("%s: equality on %v, then %v", n.collection, n.equality, n.order)
}

// servedBy says whether ix serves the query: same collection, the equality
// fields first (any order, any direction), then exactly the query's order.
func (n need) servedBy(ix Index) bool {
	if ix.Collection != n.collection || len(ix.Fields) != len(n.equality)+len(n.order) {
		return false
	}
	k := len(n.equality)
	for _, f := range ix.Fields[:k] {
		if !slices.Contains(n.equality, f.Path) {
			return false
		}
	}
	return slices.Equal(ix.Fields[k:], n.order)
}

// needOf reads the query Firestore would be sent (Query.Serialize, the
// RunQueryRequest proto) and derives the composite index it needs. What it
// cannot read (OR filters, unary filters, collection groups) is an error,
// so a query that changes shape fails here instead of going unchecked.
func needOf(q firestore.Query) (need, error) {
	b, err := q.Serialize()
	if err != nil {
		return need{}, err
	}
	var req pb.RunQueryRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return need{}, err
	}
	sq := req.GetStructuredQuery()
	if len(sq.GetFrom()) != 1 || sq.GetFrom()[0].GetAllDescendants() {
		return need{}, fmt.Errorf("want one collection, got %v", sq.GetFrom())
	}
	n := need{collection: sq.GetFrom()[0].GetCollectionId()}

	var filters []*pb.StructuredQuery_FieldFilter
	switch w := sq.GetWhere().GetFilterType().(type) {
	case *pb.StructuredQuery_Filter_FieldFilter:
		filters = append(filters, w.FieldFilter)
	case *pb.StructuredQuery_Filter_CompositeFilter:
		if w.CompositeFilter.GetOp() != pb.StructuredQuery_CompositeFilter_AND {
			return need{}, fmt.Errorf("unsupported composite filter %v", w.CompositeFilter.GetOp())
		}
		for _, f := range w.CompositeFilter.GetFilters() {
			ff := f.GetFieldFilter()
			if ff == nil {
				return need{}, fmt.Errorf("unsupported filter %v", f)
			}
			filters = append(filters, ff)
		}
	case nil:
	default:
		return need{}, fmt.Errorf("unsupported filter %T", w)
	}

	ordered := map[string]bool{}
	for _, o := range sq.GetOrderBy() {
		path := o.GetField().GetFieldPath()
		if path == firestore.DocumentID {
			// Every index ends with the document id implicitly.
			continue
		}
		ordered[path] = true
		n.order = append(n.order, IndexField{Path: path, Order: o.GetDirection().String()})
	}
	for _, f := range filters {
		path := f.GetField().GetFieldPath()
		switch {
		case f.GetOp() == pb.StructuredQuery_FieldFilter_EQUAL:
			if !ordered[path] {
				n.equality = append(n.equality, path)
			}
		case !ordered[path]:
			// Firestore orders by an inequality field itself; the store's
			// queries say it, so the derived index stays explicit.
			return need{}, fmt.Errorf("range filter on %s without an order on it", path)
		}
	}
	return n, nil
}

// unreachable opens a store whose client points nowhere: it dials lazily,
// and these tests only build and serialize queries, so no Firestore, real
// or emulated, is needed.
func unreachable(t *testing.T) *Firestore {
	t.Helper()
	f, err := OpenFirestore(context.Background(), "demo", "",
		option.WithoutAuthentication(),
		option.WithEndpoint("127.0.0.1:1"),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestQueriesHaveIndexes ties Indexes (and through TestIndexesFile
// terraform/indexes.json, from which Terraform creates the composite
// indexes) to the queries *Firestore really runs: each composite query is
// served by one of Indexes, and each of Indexes serves a query. A query
// whose fields, operators or order change fails here, offline, before a
// deployed Renew would meet FAILED_PRECONDITION.
func TestQueriesHaveIndexes(t *testing.T) {
	t.Parallel()
	f := unreachable(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	queries := []struct {
		name string
		q    firestore.Query
		want need // written out, so a change to a query shows in the diff
	}{
		{
			// Renew's pass: a page of the active watches due, soonest first.
			"DueWatches", f.dueWatchesQuery(now, Watch{ID: "w1", DueAt: now}, 50),
			need{WatchesCollection, []string{"state"}, []IndexField{{"dueAt", "ASCENDING"}}},
		},
		{
			// Renew's sweep of retired and lapsed channels.
			"ChannelsByState", f.channelsByStateQuery(ChannelStopping, now, 0),
			need{ChannelsCollection, []string{"state"}, []IndexField{{"expiration", "ASCENDING"}}},
		},
	}
	used := make([]bool, len(Indexes))
	for _, row := range queries {
		got, err := needOf(row.q)
		if err != nil {
			t.Errorf("%s: %v", row.name, err)
			continue
		}
		if got.String() != row.want.String() {
			t.Errorf("%s needs %v, want %v: update the query's row here and store.Indexes", row.name, got, row.want)
		}
		i := slices.IndexFunc(Indexes, got.servedBy)
		if i < 0 {
			t.Errorf("%s needs %v, which no store.Indexes entry serves; add it and run go test ./store -run TestIndexesFile -update-indexes", row.name, got)
			continue
		}
		used[i] = true
	}
	for i, ix := range Indexes {
		if !used[i] {
			t.Errorf("store.Indexes[%d] %+v serves no query: remove it", i, ix)
		}
	}
}

// needOf reads what it is given, so the test above can fail: each row is a
// query and the index it needs, or the error that stops the check.
func TestNeedOf(t *testing.T) {
	t.Parallel()
	f := unreachable(t)
	now := time.Now()
	for _, row := range []struct {
		name    string
		q       firestore.Query
		want    string
		wantErr bool
		served  bool
	}{
		// DueWatches' shape is served by the first index.
		{name: "due", q: f.watches.Where("state", "==", "active").Where("dueAt", "<=", now).OrderBy("dueAt", firestore.Asc),
			want: "watches: equality on [state], then [{dueAt ASCENDING}]", served: true},
		// The old due query, by the channel's expiration, has no index now.
		{name: "by expiration", q: f.watches.Where("state", "==", "active").Where("channelExpiration", "<", now).OrderBy("channelExpiration", firestore.Asc),
			want: "watches: equality on [state], then [{channelExpiration ASCENDING}]"},
		// A renamed range field needs an index nobody declared.
		{name: "renamed field", q: f.watches.Where("state", "==", "active").Where("expiresAt", "<", now).OrderBy("expiresAt", firestore.Asc),
			want: "watches: equality on [state], then [{expiresAt ASCENDING}]"},
		// A reversed order needs a DESCENDING index.
		{name: "descending", q: f.watches.Where("state", "==", "active").Where("channelExpiration", "<", now).OrderBy("channelExpiration", firestore.Desc),
			want: "watches: equality on [state], then [{channelExpiration DESCENDING}]"},
		// Another collection's fields do not count.
		{name: "other collection", q: f.channels.Where("state", "==", "active").Where("channelExpiration", "<", now).OrderBy("channelExpiration", firestore.Asc),
			want: "channels: equality on [state], then [{channelExpiration ASCENDING}]"},
		// The document id order Watches adds needs nothing beyond the equality.
		{name: "by id", q: f.watches.Where("state", "==", "active").OrderBy(firestore.DocumentID, firestore.Asc),
			want: "watches: equality on [state], then []"},
		// A range without an order on its field is refused, not guessed.
		{name: "unordered range", q: f.watches.Where("state", "==", "active").Where("channelExpiration", "<", now), wantErr: true},
		// OR filters are refused.
		{name: "or", q: f.watches.WhereEntity(firestore.OrFilter{Filters: []firestore.EntityFilter{
			firestore.PropertyFilter{Path: "state", Operator: "==", Value: "a"},
			firestore.PropertyFilter{Path: "state", Operator: "==", Value: "b"},
		}}), wantErr: true},
	} {
		t.Run(row.name, func(t *testing.T) {
			got, err := needOf(row.q)
			if (err != nil) != row.wantErr {
				t.Fatalf("err = %v, want error %v", err, row.wantErr)
			}
			if row.wantErr {
				return
			}
			if got.String() != row.want {
				t.Errorf("got %v, want %s", got, row.want)
			}
			if served := slices.ContainsFunc(Indexes, got.servedBy); served != row.served {
				t.Errorf("served by Indexes = %v, want %v", served, row.served)
			}
		})
	}
}

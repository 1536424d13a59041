// Package googlesim simulates the push-notification side of Google's
// Calendar, Drive, Admin Directory and Admin Reports APIs, and the list
// and get calls that read what a notification announced, so that the real
// google.golang.org/api clients can open and stop channels and read
// changes against it, and tests can drive notifications to a webhook.
//
// Point the clients at a simulator's base URL (WATCHRELAY_API_BASE_URL):
// calendar at <base>/calendar/v3/, drive at <base>/drive/v3/, admin
// directory and reports at <base>/. The simulator serves, under Google's
// own paths and methods, the watch calls of every kind watchrelay knows
// (see the Kind constants), Drive's changes.getStartPageToken, the four
// channels.stop endpoints, and the reads: Calendar's events.list
// (calendars/{calendarId}/events), calendarList.list
// (users/me/calendarList), acl.list (calendars/{calendarId}/acl) and
// settings.list (users/me/settings); Drive's changes.list (changes) and
// files.get (files/{fileId}).
//
// What it does like Google:
//
//   - A watch answers a Channel resource (kind api#channel, id, resourceId,
//     resourceUri, token, expiration in milliseconds as a string). The
//     granted expiration is min(requested, now + the kind's maximum); with
//     nothing requested it is now + the kind's default (see Limits).
//     The requested lifetime may also come as params.ttl in seconds, as
//     Calendar and Admin Directory document it (the simulator reads it for
//     every kind); when both expiration and params.ttl are given the
//     earlier wins. An expiration in the past is answered 400 invalid.
//   - resourceId is stable per watched resource (same kind and parameters)
//     and opaque; resourceUri is the version-specific URI Google reports.
//   - A channel id can be used once, ever: a reused id is answered 400
//     channelIdNotUnique, even after the first channel stopped or expired.
//   - Right after a watch is accepted the simulator pushes a sync message
//     (message number 1, state sync). Depending on Options.Sync it arrives
//     before the watch response is written, after it, or either way at
//     random (seeded).
//   - Notifications carry Google's headers: X-Goog-Channel-ID,
//     X-Goog-Channel-Token (when set), X-Goog-Channel-Expiration (RFC 1123,
//     GMT), X-Goog-Message-Number (increasing, not consecutive),
//     X-Goog-Resource-ID, X-Goog-Resource-State, X-Goog-Resource-URI and,
//     when asked for, X-Goog-Changed. Drive changes notifications carry the
//     body {"kind":"drive#changes"}; Admin notifications carry the changed
//     resource as JSON (a Directory User or alias, a Reports Activity),
//     with Content-Type application/json; others have no body.
//   - A delivery succeeds on 200, 201, 202, 204 or 102. On 500, 502, 503
//     or 504 it is retried with exponential backoff; any other status is a
//     failed message and is not retried.
//   - channels.stop takes {id, resourceId} and answers 204; an unknown id,
//     a resource id that does not match, or an already stopped channel is
//     answered 404 notFound ("Channel not found").
//   - Calendar lists take syncToken, pageToken, maxResults, showDeleted
//     and (calendarList) showHidden, and answer items, nextPageToken on
//     every page but the last and nextSyncToken on the last. With a sync
//     token they list only the items changed since, deleted ones always
//     (an event with status cancelled, a calendarList entry with deleted
//     true, an ACL rule with role none), and hidden calendarList entries
//     always; without one, deleted items only to showDeleted and hidden
//     entries only to showHidden. An expired sync token is answered 410
//     fullSyncRequired ("Sync token is no longer valid, a full sync is
//     required.").
//   - Drive's changes list takes pageToken, pageSize, includeRemoved
//     (default true) and driveId, and answers changes (fileId, removed,
//     time, and the file unless removed) oldest first, with nextPageToken
//     while more remain and newStartPageToken on the last page. A page
//     token Drive did not hand out is answered 400 invalid "Invalid Value".
//     files.get answers a trashed file too, and 404 "File not found" once
//     it is removed.
//   - Errors have Google's JSON shape, so googleapi.CheckResponse yields a
//     *googleapi.Error with Code, Message and Errors[].Reason.
//
// What tests can make it do, beyond Google's normal answers:
//
//   - FailNext and Fail answer matching calls (Match: operation, kind,
//     resource, channel id, subject, or any Func) with a Google-shaped
//     error; the Fail* values are the ones Google sends. A Failure's
//     RetryAfter adds a Retry-After header in whole seconds, as an HTTP
//     server may on 429 and 503.
//   - Edits change what lists and gets read and notify every live channel
//     of the resource they touch: EditEvent and DeleteEvent (state
//     exists), EditCalendarListEntry, DeleteCalendarListEntry, EditACLRule,
//     DeleteACLRule and EditSetting (exists), EditFile (change on the
//     drive's changes channels; add, update, trash or untrash on the
//     file's) and RemoveFile (change; remove). The Admin edits push their
//     resource as the body: EditUser (the event as the state: add, update,
//     delete, makeAdmin, undelete) to every users channel whose customer
//     (my_customer selects every user) or domain (of the primary email)
//     selects the user and whose event, if any, is this one; AddAlias and
//     DeleteAlias (add, delete) to the aliases channels of the user, by id
//     or primary email; RecordActivity to the activities channels of the
//     application whose userKey is the user or all.
//   - ExpireSyncTokens makes every sync and page token handed out so far
//     stale, as when Google drops the history a token points into.
//   - RevokeSubject answers every call of a delegated user 401, and
//     DeleteResource every watch, list and get on a resource 404.
//   - Hold keeps matching calls waiting, before the simulator does anything
//     with them, until released: a client's own timeout, or calls piling up
//     behind a slow API, without sleeping. A held call whose client gave up
//     is dropped with no effect, so after a timed-out watch the channel
//     was, here, never opened; with Google that outcome is unknown.
//   - Options.Latency slows every call; Options.Now moves its clock;
//     Options.PageSize (default 20) is the page of a list that asks for
//     none, small so that tests page. Stats counts ListCalls and GetCalls,
//     so a benchmark can count the API calls a storm costs; OpList and
//     OpGet select them for FailNext, Fail and Hold.
//
// What it refuses: the query parameters Google's references refuse, one
// rule a row (rules.go). A list call breaking one, and a watch call
// where the watch takes its list's query (Calendar, Drive changes,
// Admin), is refused before anything is listed or opened; an injected
// failure still comes first. Above a page size's largest value the
// references say Google serves its largest page, and so does the
// simulator; below its least it refuses.
//
//	call                      refused                                    answer                   source
//	events list, watch        syncToken with iCalUID, orderBy,           400 syncTokenWith-       [1]
//	                          privateExtendedProperty, q,                RequestRestrictions [12]
//	                          sharedExtendedProperty, timeMin, timeMax
//	                          or updatedMin
//	events list, watch        syncToken with showDeleted=false           the same                 [1]
//	events list, watch        timeMin or timeMax not RFC 3339 with an    400 invalid              [1]
//	                          offset
//	events list, watch        timeMax not after timeMin                  400 timeRangeEmpty       [1] [5]
//	calendarList list, watch  syncToken with showDeleted=false or        400 syncTokenWith-       [2]
//	                          showHidden=false                           RequestRestrictions
//	calendarList list, watch  syncToken with minAccessRole or            the same                 [2]
//	                          showOwnOrganizationOnly
//	acl list, watch           syncToken with showDeleted=false           the same                 [3]
//	Calendar lists, watches   maxResults below 1 (above 2500 for         400 invalid              [1] [2] [3]
//	                          events, 250 for the others: served at                               [4] [6]
//	                          that)
//	changes list, watch       no pageToken                               400 required             [7]
//	changes list, watch       pageSize below 1 (above 1000: served at    400 invalid              [7]
//	                          1000)
//	Directory users.watch     maxResults outside [1, 500]                400 invalid              [8]
//	Reports activities.watch  maxResults outside [1, 1000]               400 invalid              [9]
//	Gmail history.list        maxResults below 1 (above 500: served at   400 invalid              [10]
//	                          500)
//	subscriptions.list        pageSize below 0 (0: the default; above    400 INVALID_ARGUMENT     [11]
//	                          100: served at 100)
//
//	[1] developers.google.com/calendar/api/v3/reference/events/list (and events/watch, which takes the same parameters)
//	[2] developers.google.com/calendar/api/v3/reference/calendarList/list (and calendarList/watch)
//	[3] developers.google.com/calendar/api/v3/reference/acl/list (and acl/watch)
//	[4] developers.google.com/calendar/api/v3/reference/settings/list (and settings/watch)
//	[5] developers.google.com/calendar/api/guides/errors ("timeRangeEmpty", location timeMax)
//	[6] developers.google.com/calendar/api/guides/pagination ("a hard limit ... the server will never exceed")
//	[7] developers.google.com/drive/api/reference/rest/v3/changes/list ("values above 1000 will be coerced to 1000"; and changes/watch)
//	[8] developers.google.com/admin-sdk/directory/reference/rest/v1/users/watch ("between 1 and 500")
//	[9] developers.google.com/admin-sdk/reports/reference/rest/v1/activities/watch ("between 1 and 1000")
//	[10] developers.google.com/gmail/api/reference/rest/v1/users.history/list ("The maximum allowed value for this field is 500")
//	[11] developers.google.com/workspace/events/reference/rest/v1/subscriptions/list, and google.aip.dev/158 for a negative size
//	[12] the reference says only "not allowed"; the reason and message ("Sync token cannot be used with other request
//	     restrictions.") are what Calendar is reported to answer (qiita.com/shiraily/items/6762046f041551c269da)
//
// The other refusals of a call are told with the call above and below:
// Drive's unknown page token, Gmail's startHistoryId, Workspace's filter.
//
// Where it differs from Google:
//
//   - There are no credentials. The bearer token of a call is not checked;
//     it only says whose delegation the call stands for: "sim-subject:"
//     followed by the delegated user's email (google.SubjectToken), as the production
//     clients send it in base-URL mode, and anything else, or no
//     Authorization header, is the service account itself. That is not a
//     credential: anyone may send any token. Every call is accepted as
//     authorized unless its subject's grant was revoked (RevokeSubject:
//     401 authError "Invalid Credentials" on every call of that subject,
//     like FailAuth) or a
//     failure is injected (FailNext, Fail; Match.Subject selects a
//     subject's calls). Scopes are not modelled: a call is never refused
//     for lacking one.
//   - Any caller may stop a channel, not only the subject whose token
//     opened it (Channel.Subject records that one); Google's rule there is
//     undocumented.
//   - The watched resources are modelled only as far as lists and gets
//     read them (Event, CalendarListEntry, ACLRule, Setting, File: a few
//     fields each): a watch finds any calendar, file, drive, user or
//     application until DeleteResource removes it, lists answer only what
//     edits made, and notifications are sent only by an edit, Push or
//     PushResource. The calendar list and settings are one for every
//     subject, not one per user.
//   - Tokens are opaque but not Google's: a sync token is any edit's
//     sequence number, so one from another calendar is accepted; a token
//     the simulator never made is answered 400 invalid. Calendar gives no
//     lifetime for sync tokens and Drive none for page tokens; here they
//     expire only through ExpireSyncTokens, after which a Calendar page
//     token is answered 410 like a sync token, and a Drive page token older
//     than the drive's start page token 400 invalid. Drive documents no
//     expiry of its own.
//   - A Calendar list goes in item id order; an item edited while a list
//     is being paged is left out of it and comes with its sync token.
//     Drive's changes feed has one change per edit, carrying the file as
//     that edit left it; Google's may fold several changes of a file into
//     one and carries the file as it stands. Page sizes are capped at
//     Google's maxima (see What it refuses); fields, timeMin, q and the
//     other filters are checked against the rules above but select
//     nothing.
//   - Refusals carry Google's status and reason; their messages are
//     Google's where a guide shows one, the simulator's otherwise. Gmail
//     documents no least maxResults; the simulator refuses 0. A page
//     token must come, Google says, with the very request that made it
//     plus pageToken; the simulator does not check that.
//   - Webhook addresses may be plain http (Google requires https on a
//     verified domain); FailWebhook simulates the domain being rejected.
//   - A channel must be stopped through the channels.stop of its own API
//     (calendar, drive, admin directory, admin reports); a stop through
//     another API's endpoint is answered 404. Google's behaviour there is
//     undocumented.
//   - A channel whose resource was deleted stays in Live until it is
//     stopped or expires, but gets no notifications; stopping it succeeds.
//   - Deliveries whose retries were already scheduled when a channel was
//     stopped, or when it expired, are still attempted until they succeed
//     or run out of attempts (Google documents nothing here; late retries
//     are the case Receive's acceptUntil exists for). A delivery that fails
//     without an HTTP answer (connection refused, timeout) is retried like
//     a 503.
//   - Expiration is judged against Options.Now, so tests can move time;
//     retry backoff uses the real clock, scaled by Options.RetryBase.
//   - Admin resources are modelled only as far as their pushes carry them
//     (User, its aliases, Activity: a few fields each); nothing is
//     listed. A Reports notification's state is the activity's first event
//     name; the watch's eventName, filters and the users watch's query,
//     viewType and projection select nothing here. A bare Push or
//     PushResource on an Admin channel carries no body.
//   - Drive start page tokens are a per-drive counter of changes (a bare
//     Push or PushResource on a changes channel counts as one with nothing
//     to list), and the page token a changes.watch carries is required but
//     otherwise not checked.
//   - Limits: Calendar publishes a default (7 days) but no maximum; the
//     simulator caps at 30 days. See Limits for each number and its source.
//
// Gmail (kind gmail.users, at <base>/: its request paths begin with
// gmail/v1/) is served under Google's paths: users.watch, users.stop,
// users.history.list and users.getProfile (users/{userId}/watch, stop,
// history, profile). Like Gmail: userId "me" is the subject the call's
// token names, and a call as the service account itself is answered 400
// failedPrecondition ("Precondition check failed.", FailNoMailbox), as
// Gmail answers one without delegation; another user's mailbox is 403. A
// mailbox is named by its address in lower case, as Google keeps a user's
// primary address: a call as Ann@Example.com reaches ann@example.com's
// mailbox, and pushes, getProfile and GmailPush.Mailbox name it
// ann@example.com (so do AddMessage and the other edits, whatever case they
// are given). users.watch needs topicName projects/P/topics/T, takes
// labelIds and labelFilterBehavior (include, the default, or exclude; the
// deprecated labelFilterAction too) and answers {historyId, expiration},
// the expiration 7 days on by Options.Now whatever is asked; a new watch
// replaces the mailbox's one watch. users.stop answers 204, with a watch or
// without. history.list takes startHistoryId, pageToken and maxResults (at
// most 500) and answers the records after startHistoryId, oldest first,
// with nextPageToken while more remain and the mailbox's current historyId
// (a messagesDeleted entry names the message by id and thread only, with no
// labelIds: the reference says messages in a history "typically only have
// id and threadId fields populated", and a deleted message's labels are
// gone with it); a start older than what ExpireHistory kept is answered 404
// notFound ("Requested entity was not found."). AddMessage, DeleteMessage
// and LabelMessage make one history record each (messagesAdded,
// messagesDeleted, labelsAdded and labelsRemoved) under a new history id
// and, when the mailbox's watch is live (unstopped, unexpired) and its
// label filter selects the message (by its labels before and after the
// edit), publish {"emailAddress", "historyId"} to the watch's topic through
// Options.Publish; GmailPushes lists what was pushed. Calls are matched
// with Kind gmail.users and ResourceID the mailbox's lower-case name, by
// OpWatch, OpStop, OpList (history) and OpGet (profile), and counted in the
// Stats of those. Where it differs: history ids are consecutive, one record
// per edit; history.list ignores labelId and historyTypes; nothing checks
// that Gmail may publish to the topic; the push is published during the
// edit, not moments later; there are no messages.list or messages.get.
//
// Workspace Events (kind workspace.events, at <base>/: request paths begin
// with v1/) is served under Google's paths: subscriptions.create, get,
// patch, reactivate ({name}:reactivate), delete and list, and
// operations.get. Like Google: create, patch, reactivate and delete
// answer an Operation, done at once unless DelayOperations holds it until
// its nth operations.get, and only a done one carries the response (the
// Subscription; Empty for a delete). A create needs a full resource name
// (//...), event types and a pubsubTopic projects/P/topics/T (else 400);
// a target removed by DeleteResource is 404; a second live subscription
// on the same target for the same user (the subject of the call's token,
// also its authority users/{subject}) is 409 ALREADY_EXISTS, whatever its
// event types, as Google documents "one subscription for a given target
// resource" per user. The lifetime is ttl ("0s" or none: the longest) or
// expireTime, at most 7 days, or 4 hours with
// payloadOptions.includeResource. Past its expireTime a subscription is
// deleted: get, patch, reactivate and delete answer 404. patch takes
// updateMask ttl or expire_time; reactivate only a SUSPENDED one (else 400
// FAILED_PRECONDITION); SuspendSubscription suspends with a reason, and
// Subscriptions lists every subscription ever made. list takes the
// documented filters: event_types:"..." terms joined by OR, optionally in
// parentheses, AND an optional target_resource="...", and lists the
// caller's live subscriptions with any of the types, by name, pageSize a
// page (0 or none: Options.PageSize; at most 100) with nextPageToken
// while more remain. Calls are matched
// with Kind workspace.events and ResourceID the subscription's name (a
// create: its target), by OpWatch (create), OpGet, OpPatch, OpReactivate,
// OpStop (delete), OpList and OpOperation; creates count in WatchCalls
// and WatchOK, deletes in StopCalls and StopOK, the rest in
// SubscriptionStats. Where it differs: nothing is published, and no
// lifecycle event is sent; nothing suspends a subscription but
// SuspendSubscription, and a reactivation always succeeds; the 24-hour
// limit Google allows with domain-wide delegation is not granted; patch
// does not change eventTypes; event types are not checked against the
// target; scopes are not modelled.
package googlesim

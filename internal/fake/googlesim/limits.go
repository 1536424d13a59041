package googlesim

import "time"

// The kinds of watch the simulator serves, named as in docs/DESIGN.md and in
// the watches/ documents.
const (
	KindCalendarEvents    = "calendar.events"
	KindCalendarList      = "calendar.calendarList"
	KindCalendarACL       = "calendar.acl"
	KindCalendarSettings  = "calendar.settings"
	KindDriveFiles        = "drive.files"
	KindDriveChanges      = "drive.changes"
	KindDirectoryUsers    = "admin.directory.users"
	KindDirectoryAliases  = "admin.directory.aliases"
	KindReportsActivities = "admin.reports.activities"
)

const (
	day             = 24 * time.Hour
	calendarDefault = 7 * day
	calendarMax     = 30 * day
	adminLifetime   = 6 * time.Hour
	driveDefault    = time.Hour
	driveFilesMax   = day
	driveChangesMax = 7 * day
)

// Limit is the channel lifetime Google grants for one kind: Default when
// the watch asks for none, Max the longest it grants whatever is asked.
type Limit struct {
	Default time.Duration
	Max     time.Duration
}

// Limits holds the simulator's channel lifetimes per kind. The renew
// adapters keep their own copy; these are the simulator's, with their
// sources:
//
//   - Calendar (events, calendarList, acl, settings): the watch reference
//     pages document params.ttl with "Default is 604800 seconds" (7 days)
//     and publish no maximum; 30 days is the longest lifetime users report
//     Google granting, and is what the simulator caps at.
//   - Drive: the push guide (developers.google.com/drive/api/guides/push)
//     gives at most 86400 s (1 day) for files, 604800 s (1 week) for
//     changes, and 3600 s (1 hour) when no expiration is set.
//   - Admin SDK Directory and Reports: the push guides
//     (developers.google.com/admin-sdk/{directory,reports}/v1/guides/push)
//     give 21600 s (6 hours) as both the default and the maximum.
var Limits = map[string]Limit{
	KindCalendarEvents:    {Default: calendarDefault, Max: calendarMax},
	KindCalendarList:      {Default: calendarDefault, Max: calendarMax},
	KindCalendarACL:       {Default: calendarDefault, Max: calendarMax},
	KindCalendarSettings:  {Default: calendarDefault, Max: calendarMax},
	KindDriveFiles:        {Default: driveDefault, Max: driveFilesMax},
	KindDriveChanges:      {Default: driveDefault, Max: driveChangesMax},
	KindDirectoryUsers:    {Default: adminLifetime, Max: adminLifetime},
	KindDirectoryAliases:  {Default: adminLifetime, Max: adminLifetime},
	KindReportsActivities: {Default: adminLifetime, Max: adminLifetime},
}

// MaxTTL is the longest channel lifetime the simulator grants for kind, or
// 0 for a kind it does not know.
func MaxTTL(kind string) time.Duration { return Limits[kind].Max }

package slackapp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// groupAPI is the part of the Web API the membership cache uses.
type groupAPI interface {
	GetUserGroupMembersContext(ctx context.Context, group string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	GetUserGroupsContext(ctx context.Context, options ...slack.GetUserGroupsOption) ([]slack.UserGroup, error)
}

// groupCache resolves Slack user-group membership. It caches because a burst of clicks during an
// incident would otherwise hit usergroups.users.list's rate limit exactly when approvals matter
// most; the TTL bounds how long a removed member keeps approving (they are still checked by the
// workflow against the run's approvers, so only group membership can be stale).
type groupCache struct {
	api groupAPI
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	members map[string]cached // group id -> members
	all     *cachedAll        // every group with its members, for the no-worker fallback
}

type cached struct {
	users []string
	at    time.Time
}

type cachedAll struct {
	groups map[string][]string
	at     time.Time
}

func newGroupCache(api groupAPI, ttl time.Duration) *groupCache {
	return &groupCache{api: api, ttl: ttl, now: time.Now, members: map[string]cached{}}
}

// groupsOf returns the groups among candidates that user belongs to. Non-group candidates (user
// ids, names) are ignored.
func (g *groupCache) groupsOf(ctx context.Context, user string, candidates []string) ([]string, error) {
	var out []string
	for _, c := range candidates {
		if !isSlackGroup(c) {
			continue
		}
		users, err := g.membersOf(ctx, c)
		if err != nil {
			return nil, err
		}
		if slices.Contains(users, user) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (g *groupCache) membersOf(ctx context.Context, group string) ([]string, error) {
	g.mu.Lock()
	c, ok := g.members[group]
	g.mu.Unlock()
	if ok && g.now().Sub(c.at) < g.ttl {
		return c.users, nil
	}
	users, err := g.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("list members of user group %s: %w", group, err)
	}
	g.mu.Lock()
	g.members[group] = cached{users: users, at: g.now()}
	g.mu.Unlock()
	return users, nil
}

// allGroupsOf returns every user group user belongs to. It is for the signal fallback, when the
// run cannot be asked who its approvers are: the workflow checks the groups when it applies the
// signal, so sending all of them grants nothing the approver list does not.
func (g *groupCache) allGroupsOf(ctx context.Context, user string) ([]string, error) {
	g.mu.Lock()
	all := g.all
	g.mu.Unlock()
	if all == nil || g.now().Sub(all.at) >= g.ttl {
		list, err := g.api.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			return nil, fmt.Errorf("list user groups: %w", err)
		}
		all = &cachedAll{groups: map[string][]string{}, at: g.now()}
		for _, ug := range list {
			all.groups[ug.ID] = ug.Users
		}
		g.mu.Lock()
		g.all = all
		g.mu.Unlock()
	}
	var out []string
	for id, users := range all.groups {
		if slices.Contains(users, user) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/presence"
)

type credentials struct{ Name, Password string }

func (c credentials) Validate() error {
	if c.Name == "" || len(c.Name) > 32 || len(c.Password) < 8 || len(c.Password) > 128 {
		return api.Error(http.StatusUnprocessableEntity, "invalid", "a name of 1 to 32 bytes, a password of 8 to 128")
	}
	return nil
}

func (a *app) signup(ctx context.Context, r *http.Request, in credentials) (map[string]string, error) {
	hash, err := auth.HashPassword(in.Password) // argon2id
	if err == nil {
		_, err = a.db.ExecContext(ctx, `INSERT INTO users (name, password_hash) VALUES (?, ?)`, in.Name, hash)
	}
	if isConflict(err) {
		return nil, api.Error(http.StatusConflict, "name_taken", "that name is taken")
	} else if err != nil {
		return nil, err
	}
	tok, err := a.tokens.Issue(auth.Identity{Subject: in.Name})
	return map[string]string{"token": tok}, err
}

func (a *app) login(ctx context.Context, r *http.Request, in credentials) (map[string]string, error) {
	var hash string
	err := a.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE name = ?`, in.Name).Scan(&hash)
	if ok, _ := auth.CheckPassword(hash, in.Password); err != nil || !ok {
		return nil, api.Error(http.StatusUnauthorized, "invalid_credentials", "wrong name or password")
	}
	tok, err := a.tokens.Issue(auth.Identity{Subject: in.Name})
	return map[string]string{"token": tok}, err
}

// Poll is a question, its options, and the votes for each option.
type Poll struct {
	ID       int64    `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Votes    []int    `json:"votes"`
}

func (p Poll) Validate() error {
	if strings.TrimSpace(p.Question) == "" || len(p.Options) < 2 || len(p.Options) > 10 {
		return api.Error(http.StatusUnprocessableEntity, "invalid", "a question and 2 to 10 options")
	}
	return nil
}

func (a *app) createPoll(ctx context.Context, r *http.Request, p Poll) (api.Result[Poll], error) {
	p.Votes = make([]int, len(p.Options))
	err := a.db.QueryRowContext(ctx, `INSERT INTO polls (question, options) VALUES (?, ?) RETURNING id`,
		p.Question, strings.Join(p.Options, "\n")).Scan(&p.ID)
	return api.Created("/api/polls/"+strconv.FormatInt(p.ID, 10), p), err
}

// getPoll serves a poll from the cache, which a vote invalidates on every
// node; httpcache answers 304 when the body has not changed.
func (a *app) getPoll(ctx context.Context, r *http.Request) (Poll, error) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	tag := "poll:" + strconv.FormatInt(id, 10)
	v, err := a.polls.GetOrLoad(ctx, tag, func(ctx context.Context) (any, error) { return a.poll(ctx, id) }, cache.WithTags(tag))
	if errors.Is(err, sql.ErrNoRows) {
		return Poll{}, api.Error(http.StatusNotFound, api.CodeNotFound, "no such poll")
	} else if err != nil {
		return Poll{}, err
	}
	return v.(Poll), nil
}

// poll reads a poll and counts its votes; sql.ErrNoRows if there is none.
func (a *app) poll(ctx context.Context, id int64) (Poll, error) {
	p := Poll{ID: id}
	var opts string
	if err := a.db.QueryRowContext(ctx, `SELECT question, options FROM polls WHERE id = ?`, id).Scan(&p.Question, &opts); err != nil {
		return Poll{}, err
	}
	p.Options = strings.Split(opts, "\n")
	p.Votes = make([]int, len(p.Options))
	rows, err := a.db.QueryContext(ctx, `SELECT option FROM votes WHERE poll_id = ?`, id)
	for err == nil && rows.Next() {
		var opt int
		if err = rows.Scan(&opt); err == nil {
			p.Votes[opt]++
		}
	}
	if rows != nil {
		err = errors.Join(err, rows.Err(), rows.Close())
	}
	return p, err
}

func isConflict(err error) bool { return err != nil && strings.Contains(err.Error(), "UNIQUE") }

// pollChannel is one user watching one poll: "poll:ID".
type pollChannel struct {
	app  *app
	user string
	poll Poll
}

type afterJoin struct{}

var pollEvents = channel.Events[*pollChannel]{"vote": channel.On((*pollChannel).vote)}

func (p *pollChannel) Join(ctx context.Context, ch *channel.Channel, _ channel.Payload) (any, error) {
	id, ok := channel.AssignsAs[*auth.Identity](ch)
	if !ok {
		return nil, channel.Refuse("unauthorized")
	}
	pollID, _ := strconv.ParseInt(strings.TrimPrefix(ch.Topic(), "poll:"), 10, 64) // 0 if not a number: no such poll
	poll, err := p.app.poll(ctx, pollID)
	if err != nil {
		return nil, channel.Refuse("no such poll")
	}
	p.user, p.poll = id.Subject, poll
	ch.Send(afterJoin{})
	return p.poll, nil
}

func (p *pollChannel) HandleIn(ctx context.Context, ch *channel.Channel, event string, pl channel.Payload) channel.Reply {
	return pollEvents.Dispatch(p, ctx, ch, event, pl)
}

// vote records the vote, drops the cached poll on every node and sends
// everyone watching the new tally.
func (p *pollChannel) vote(ctx context.Context, ch *channel.Channel, in struct{ Option int }) (Poll, error) {
	if in.Option < 0 || in.Option >= len(p.poll.Options) {
		return Poll{}, channel.Fail("no such option")
	}
	_, err := p.app.db.ExecContext(ctx, `INSERT INTO votes (poll_id, user_name, option) VALUES (?, ?, ?)`, p.poll.ID, p.user, in.Option)
	if isConflict(err) {
		return Poll{}, channel.Fail("you already voted")
	} else if err != nil {
		return Poll{}, err
	}
	poll, err := p.app.poll(ctx, p.poll.ID)
	if err == nil {
		err = p.app.polls.InvalidateTags(ctx, ch.Topic())
	}
	if err != nil {
		return Poll{}, err
	}
	return poll, ch.Broadcast(ctx, "tally", poll)
}

func (p *pollChannel) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	if _, ok := msg.(afterJoin); ok {
		tracker := p.app.cluster.Presence()
		if _, err := tracker.Track(ctx, ch, p.user, nil); err != nil {
			ch.Stop(err)
			return
		}
		_ = ch.Push(presence.EventState, tracker.List(ch.Topic()))
	}
}

package server

import (
	"crypto/subtle"
	"net"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// auth is a mysql.AuthServer with one user and a plain-text password, checked with
// mysql_native_password.
type auth struct {
	user, password string
	methods        []mysql.AuthMethod
	failed         func() // called for every rejected login
}

// newAuth returns an auth server accepting user with password; failed counts rejections.
func newAuth(user, password string, failed func()) *auth {
	a := &auth{user: user, password: password, failed: failed}
	a.methods = []mysql.AuthMethod{mysql.NewMysqlNativeAuthMethod(a, a)}
	return a
}

// AuthMethods is part of mysql.AuthServer.
func (a *auth) AuthMethods() []mysql.AuthMethod { return a.methods }

// DefaultAuthMethodDescription is part of mysql.AuthServer.
func (a *auth) DefaultAuthMethodDescription() mysql.AuthMethodDescription {
	return mysql.MysqlNativePassword
}

// HandleUser is part of mysql.UserValidator: every user name is checked in UserEntryWithHash.
func (a *auth) HandleUser(string) bool { return true }

// UserEntryWithHash checks a mysql_native_password scramble against the configured password.
func (a *auth) UserEntryWithHash(_ *mysql.Conn, salt []byte, user string, authResponse []byte, _ net.Addr) (mysql.Getter, error) {
	want := mysql.ScrambleMysqlNativePassword(salt, []byte(a.password))
	if user != a.user || subtle.ConstantTimeCompare(authResponse, want) != 1 {
		a.failed()
		return userData(""), sqlerror.NewSQLErrorf(sqlerror.ERAccessDeniedError, sqlerror.SSAccessDeniedError, "Access denied for user '%v'", user)
	}
	return userData(user), nil
}

// userData is the authenticated user's name.
type userData string

// Get is part of mysql.Getter.
func (u userData) Get() *querypb.VTGateCallerID { return &querypb.VTGateCallerID{Username: string(u)} }

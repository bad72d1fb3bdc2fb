#!/usr/bin/env bash
# make-mailman-samples.sh — make GNU Mailman 3 (core) refuse posts, for
# lhost-mailman-01..05.
#
#   tests/data/dsn-families/make-mailman-samples.sh OUTDIR
#
# Run on Debian 12 (root for apt-get).  Not run by the tests: the samples it
# made are committed beside it (SOURCES.md).  The mailman3 package (3.3.8) is
# downloaded and unpacked into a work folder, never installed (no service, no
# cron job, the machine's MTA untouched); only its python3 libraries are
# installed from Debian.  A private mailman.cfg keeps everything in the work
# folder (sqlite), and Mailman's runners are run one pass at a time
# (`mailman runner -r NAME -o`: no master, nothing left running).  Posts are
# put in the list's incoming queue by `mailman inject`; the outgoing runner
# sends the notices over SMTP to tests/tools/refusing_smtpd.py on 127.0.0.1,
# which keeps what is sent to catch*@:
#   01  a non-member posts, the list's default_nonmember_action is reject
#       (the reject chain: "Your message to the News mailing-list was
#       rejected ...", the post attached)
#   02  a member's post larger than max_message_size (1 KB) is held, and the
#       moderator rejects it with the hold's own reason ("Request to mailing
#       list "News" rejected")
#   03  a post that does not name the list in To/Cc (implicit destination),
#       held, then rejected by the moderator the same way
#   04  a post to more recipients than max_num_recipients, held, rejected
# The poster is told nothing at those holds (respond_to_post_requests off),
# nor the owner (admin_immed_notify off): only the refusals are sent.  Then
#   05  respond_to_post_requests on: a post held for its size, and the
#       notice that tells the poster so ("... awaits moderator approval"),
#       which is no refusal (not a bounce); the moderator does nothing.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-mailman-samples}
SMTP_PORT=2930 LMTP_PORT=2931 REST_PORT=2932
LIST=news@lists.example.org
rm -rf "$W"
mkdir -p "$W/debs" "$W/root" "$W/caught" "$W/var" "$W/py"
(cd "$W/debs" && apt-get download mailman3 >/dev/null 2>&1)
dpkg-deb -x "$W"/debs/mailman3_*.deb "$W/root"
# mailman3's Depends, libraries only (--no-install-recommends: no MTA).
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
    --no-install-recommends python3-falcon python3-aiosmtpd python3-alembic \
    python3-authheaders python3-authres python3-click python3-dateutil \
    python3-dnspython python3-flufl.bounce python3-flufl.i18n python3-flufl.lock \
    python3-gunicorn python3-importlib-resources python3-lazr.config \
    python3-passlib python3-public python3-requests python3-sqlalchemy \
    python3-zope.component python3-zope.configuration python3-zope.event \
    python3-zope.interface >/dev/null
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"   # collect

cat > "$W/mailman.cfg" <<EOC
[mailman]
layout: bg
site_owner: postmaster@lists.example.org

[paths.bg]
var_dir: $W/var

[database]
class: mailman.database.sqlite.SQLiteDatabase
url: sqlite:///\$DATA_DIR/mailman.db

[mta]
incoming: mailman.mta.null.NullMTA
outgoing: mailman.mta.deliver.deliver
smtp_host: 127.0.0.1
smtp_port: $SMTP_PORT
lmtp_host: 127.0.0.1
lmtp_port: $LMTP_PORT

[webservice]
hostname: 127.0.0.1
port: $REST_PORT

[archiver.mhonarc]
enable: no
[archiver.mail_archive]
enable: no
[archiver.prototype]
enable: no
EOC

# The list's settings and the moderator's decisions, run by `mailman withlist`.
cat > "$W/py/bgsamples.py" <<'EOP'
from mailman.app.moderator import handle_message
from mailman.interfaces.action import Action
from mailman.interfaces.member import MemberRole
from mailman.interfaces.requests import IListRequests, RequestType
from mailman.interfaces.usermanager import IUserManager
from zope.component import getUtility


def setup(mlist):
    mlist.display_name = 'News'
    mlist.send_welcome_message = False
    mlist.admin_notify_mchanges = False
    mlist.respond_to_post_requests = False
    mlist.admin_immed_notify = False
    mlist.default_nonmember_action = Action.reject
    mlist.max_message_size = 1
    mlist.max_num_recipients = 5
    mlist.require_explicit_destination = True
    um = getUtility(IUserManager)
    owner = um.create_address('owner@lists.example.org')
    owner.verified_on = owner.registered_on
    mlist.subscribe(owner, MemberRole.owner)


def subscribe(mlist, email):
    um = getUtility(IUserManager)
    member = um.get_address(email) or um.create_address(email)
    member.verified_on = member.registered_on
    mlist.subscribe(member, MemberRole.member)


def notify_holds(mlist):
    mlist.respond_to_post_requests = True


def reject_held(mlist):
    requests = IListRequests(mlist)
    for req in list(requests.of_type(RequestType.held_message)):
        key, data = requests.get_request(req.id)
        handle_message(mlist, req.id, Action.reject,
                       comment=data.get('_mod_reason'))
EOP

# Debian's python3 (not one first in PATH): the libraries are installed for it.
export PYTHONPATH="$W/root/usr/lib/python3/dist-packages:$W/py"
export MAILMAN_CONFIG_FILE="$W/mailman.cfg"
mm() { /usr/bin/python3 -c 'import sys; from mailman.bin.mailman import main; sys.argv[0] = "mailman"; main()' --run-as-root "$@"; }
runner() { /usr/bin/python3 -c 'import sys; from mailman.bin.runner import main; sys.argv[0] = "runner"; main()' -C "$W/mailman.cfg" -r "$1" -o; }

python3 "$TOP/tests/tools/refusing_smtpd.py" $SMTP_PORT "$W/caught" "$W/sink.log" &
SINK=$!
trap 'kill $SINK 2>/dev/null' EXIT
sleep 1

mm create --language en "$LIST" >/dev/null
mm withlist -l "$LIST" -r bgsamples.setup

# post NAME FROM TO [EXTRA-HEADERS] [BODY-LINES]: inject a post, run the
# runners, let the moderator reject what is held (unless KEEP_HELD is set),
# and collect the notice.
post() {
    local name=$1 from=$2 to=$3 extra=${4:-} lines=${5:-2} i
    {
        printf 'Return-Path: <%s>\n' "$from"
        printf 'Received: from relay.example.net (relay.example.net [192.0.2.10])\n'
        printf '\tby lists.example.org (Postfix) with ESMTPS id 7C1D2A0B4F\n'
        printf '\tfor <%s>; Mon,  7 Dec 2026 10:00:00 +0000 (UTC)\n' "$LIST"
        printf 'From: Newsletter <%s>\n' "$from"
        printf 'To: %s\n' "$to"
        [ -n "$extra" ] && printf '%s\n' "$extra"
        printf 'Subject: Our newsletter\n'
        printf 'Message-ID: <%s@relay.example.net>\n' "$name"
        printf 'Date: Mon, 7 Dec 2026 10:00:00 +0000\n\n'
        for i in $(seq "$lines"); do
            printf 'Hello, and a few lines more than the smallest message size allows.\n'
        done
    } > "$W/$name.post"
    mm inject -f "$W/$name.post" "$LIST"
    runner in
    [ -n "${KEEP_HELD:-}" ] || mm withlist -l "$LIST" -r bgsamples.reject_held
    # one pass of a runner may leave files queued: run until none is left
    while [ -n "$(find "$W/var/queue/virgin" "$W/var/queue/out" -type f)" ]; do
        runner virgin
        runner out
    done
    collect "$name" 10
}

post lhost-mailman-01 catch-mailman@sink.test "$LIST"
mm withlist -l "$LIST" -r bgsamples.subscribe catch-mailman@sink.test
post lhost-mailman-02 catch-mailman@sink.test "$LIST" "" 20
post lhost-mailman-03 catch-mailman@sink.test "friends@example.com"
post lhost-mailman-04 catch-mailman@sink.test "$LIST" \
    "Cc: a1@example.com, a2@example.com, a3@example.com, a4@example.com, a5@example.com"
mm withlist -l "$LIST" -r bgsamples.notify_holds
KEEP_HELD=1 post lhost-mailman-05 catch-mailman@sink.test "$LIST" "" 20

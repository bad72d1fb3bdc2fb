#!/usr/bin/env python3
"""make-ses-samples.py — write the lhost-amazonsesjson-NN.eml samples.

Amazon SES notifications mailed as JSON (an SNS topic with an "email" or
"email-json" subscription, or SES's own notifications).  Made here from the
field layout and the examples of AWS's documentation (Amazon SES Developer
Guide: "Amazon SNS notification contents for Amazon SES" — the top-level
object, the bounce, complaint and delivery objects, the bounce types table —
and "Examples of Amazon SNS notifications for Amazon SES"; Amazon SNS
Developer Guide: the HTTP/email-json message body of a Notification).  Not
copies of any real notification: addresses, ids and times are made up.

usage: tests/data/dsn-families/make-ses-samples.py   (writes beside itself)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

MAIL = {
    "timestamp": "2026-11-27T14:59:38.237Z",
    "source": "appliance@relay.example.net",
    "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/relay.example.net",
    "sourceIp": "192.0.2.10",
    "sendingAccountId": "888888888888",
    "callerIdentity": "relay-sender",
    "messageId": "0100018c1a2b3c4d-11112222-3333-4444-5555-666677778888-000000",
    "destination": [],
    "headersTruncated": False,
    "headers": [
        {"name": "From", "value": "Appliance <appliance@relay.example.net>"},
        {"name": "Subject", "value": "Nightly report"},
        {"name": "Message-ID", "value": "<report-20261127@relay.example.net>"},
    ],
    "commonHeaders": {
        "from": ["Appliance <appliance@relay.example.net>"],
        "date": "Fri, 27 Nov 2026 14:59:37 +0000",
        "to": [],
        "messageId": "<report-20261127@relay.example.net>",
        "subject": "Nightly report",
    },
}


def mail(dest):
    m = json.loads(json.dumps(MAIL))
    m["destination"] = dest
    m["commonHeaders"]["to"] = dest
    return m


def bounce(btype, sub, rcpts, mta="dns; mx.example.com", key="notificationType"):
    b = {"bounceType": btype, "bounceSubType": sub, "bouncedRecipients": rcpts,
         "timestamp": "2026-11-27T14:59:39.101Z",
         "feedbackId": "0100018c1a2b3c4d-aaaabbbb-cccc-dddd-eeee-ffff00001111-000000"}
    if mta:
        b["reportingMTA"] = mta
        b["remoteMtaIp"] = "198.51.100.7"
    return {key: "Bounce", "bounce": b,
            "mail": mail([r["emailAddress"] for r in rcpts])}


def sns_envelope(msg):
    """The body of an "email-json" subscription: the SNS Notification."""
    return json.dumps({
        "Type": "Notification",
        "MessageId": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901",
        "TopicArn": "arn:aws:sns:us-east-1:888888888888:ses-bounces",
        "Message": json.dumps(msg),
        "Timestamp": "2026-11-27T14:59:39.500Z",
        "SignatureVersion": "1",
        "Signature": "RXhhbXBsZSBzaWduYXR1cmUsIG5vdCBhIHJlYWwgb25lLg==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }, indent=2)


FOOTER = ("\n\n--\nIf you wish to stop receiving notifications from this topic, please "
          "click or visit the link below to unsubscribe:\n"
          "https://sns.us-east-1.amazonaws.com/unsubscribe.html?SubscriptionArn=x\n\n"
          "Please do not reply directly to this email. If you have any questions or "
          "comments regarding this email, please contact us at "
          "https://aws.amazon.com/support\n")


def email(n, body, json_sub=True):
    """An SNS e-mail: "email-json" bodies are the envelope, "email" ones the
    Message itself followed by SNS's footer."""
    text = sns_envelope(body) if json_sub else json.dumps(body) + FOOTER
    head = ("From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
            "To: bounces@relay.example.net\n"
            "Subject: AWS Notification Message\n"
            "Date: Fri, 27 Nov 2026 14:59:40 +0000\n"
            "Message-ID: <0100018c1a2b3c4d-sns-%02d@email.amazonses.com>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\n"
            "Content-Transfer-Encoding: 7bit\n\n" % n)
    with open(os.path.join(HERE, "lhost-amazonsesjson-%02d.eml" % n), "w") as f:
        f.write(head + text + "\n")


def rcpt(addr, status=None, diag=None, action="failed"):
    r = {"emailAddress": addr}
    if action:
        r["action"] = action
    if status:
        r["status"] = status
    if diag:
        r["diagnosticCode"] = diag
    return r


def main():
    # 01: the documented bounce with a DSN (Permanent/General), email-json.
    email(1, bounce("Permanent", "General", [
        rcpt("jane@example.com", "5.1.1", "smtp; 550 5.1.1 <jane@example.com>... User unknown")]))
    # 02: suppression list (Permanent/Suppressed), plain "email" subscription.
    email(2, bounce("Permanent", "Suppressed", [
        rcpt("richard@example.com", "5.1.1",
             "Amazon SES has suppressed sending to this address because it has a recent "
             "history of bouncing as an invalid address. For more information about how "
             "to remove an address from the suppression list, see the Amazon SES "
             "Developer Guide.")], mta="dns; amazonses.com"), json_sub=False)
    # 03: Transient/MailboxFull, two recipients.
    email(3, bounce("Transient", "MailboxFull", [
        rcpt("mary@example.com", "5.2.2", "smtp; 552 5.2.2 Mailbox full"),
        rcpt("john.roe@example.org", "4.2.2", "smtp; 452 4.2.2 Over quota")]))
    # 04: the documented complaint (abuse), with a feedback report.
    email(4, {"notificationType": "Complaint",
              "complaint": {"userAgent": "ExampleCorp Feedback Loop (V0.01)",
                            "complainedRecipients": [{"emailAddress": "richard@example.com"}],
                            "complaintFeedbackType": "abuse",
                            "arrivalDate": "2026-11-27T14:59:38.237Z",
                            "timestamp": "2026-11-27T14:59:38.237Z",
                            "feedbackId": "0100018c1a2b3c4d-cccc0000-1111-2222-3333-444455556666-000000"},
              "mail": mail(["richard@example.com"])})
    # 05: the documented delivery notification: never a bounce.
    email(5, {"notificationType": "Delivery",
              "delivery": {"timestamp": "2026-11-27T14:59:38.237Z",
                           "processingTimeMillis": 546,
                           "recipients": ["jane@example.com"],
                           "smtpResponse": "250 ok:  Message 64111812 accepted",
                           "reportingMTA": "a8-70.smtp-out.amazonses.com",
                           "remoteMtaIp": "198.51.100.7"},
              "mail": mail(["jane@example.com"])})
    # 06: event publishing ("eventType"), OnAccountSuppressionList, no DSN.
    email(6, bounce("Permanent", "OnAccountSuppressionList", [
        rcpt("bob@example.com", "5.1.1",
             "Amazon SES did not send the message to this address because it is on the "
             "suppression list for your account. For more information about removing "
             "addresses from the suppression list, see the Amazon SES Developer Guide "
             "at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html")],
        mta="dns; amazonses.com", key="eventType"))
    # 07: Transient/MessageTooLarge.
    email(7, bounce("Transient", "MessageTooLarge", [
        rcpt("alice@example.net", "5.3.4",
             "smtp; 552 5.3.4 Message size exceeds fixed limit")]), json_sub=False)
    # 08: Transient/ContentRejected.
    email(8, bounce("Transient", "ContentRejected", [
        rcpt("carol@example.net", "5.7.1",
             "smtp; 554 5.7.1 Message rejected because of unacceptable content")]))
    # 09: Transient/AttachmentRejected.
    email(9, bounce("Transient", "AttachmentRejected", [
        rcpt("dave@example.net", "5.7.1",
             "smtp; 552 5.7.0 This message was blocked because its content presents a "
             "potential security issue")]))
    # 10: Undetermined: no DSN, SES cannot tell why.
    email(10, bounce("Undetermined", "Undetermined", [
        rcpt("erin@example.org", action=None)], mta=None))
    # 11: Permanent/NoEmail: the address does not exist (no DSN fields).
    email(11, bounce("Permanent", "NoEmail", [
        rcpt("frank@example.org", action=None)], mta=None), json_sub=False)
    # 12: Transient/General with a DNSBL reply: the relay, not the recipient.
    email(12, bounce("Transient", "General", [
        rcpt("grace@example.com", "5.7.1",
             "smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked "
             "using zen.spamhaus.org")]))


if __name__ == "__main__":
    main()

"""Raw e-mail messages as real clients write them, shared by the mail and IMAP tests.

Each is the byte-exact shape a known client produces (headers, boundaries, transfer encodings),
trimmed of tracking headers; the expected values in the tests were worked out from the bytes.
"""

from __future__ import annotations

import base64

# A small but real PDF (one empty page), as Thunderbird would attach it.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/MediaBox[0 0 612 792]/Parent 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
_PDF_BASE64 = b"\r\n".join(
    base64.b64encode(PDF)[i : i + 76] for i in range(0, len(base64.b64encode(PDF)), 76)
)

# Thunderbird 115: multipart/mixed holding multipart/alternative (plain + HTML) and a PDF.
# The display name is RFC 2047 UTF-8 "B", the subject UTF-8 "B" with an en dash and umlaut.
THUNDERBIRD = (
    b"Message-ID: <5b0a6f3e-91c2-4d0e-8c1a-2f3b4c5d6e7f@kunde.example.de>\r\n"
    b"Date: Tue, 7 May 2024 09:14:52 +0200\r\n"
    b"MIME-Version: 1.0\r\n"
    b"User-Agent: Mozilla Thunderbird\r\n"
    b"Content-Language: de-DE\r\n"
    b"To: Shop Support <support@shop.example>\r\n"
    b"From: =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <Joerg.Mueller@kunde.example.de>\r\n"
    b"Subject: =?UTF-8?B?UmVrbGFtYXRpb24g4oCTIEJlc3RlbGx1bmcgIzQ0MTcgYmVzY2jDpGRpZ3Q=?=\r\n"
    b'Content-Type: multipart/mixed; boundary="------------8ypGzV0lYy5Q1yH2zNc7B1vm"\r\n'
    b"\r\n"
    b"This is a multi-part message in MIME format.\r\n"
    b"--------------8ypGzV0lYy5Q1yH2zNc7B1vm\r\n"
    b'Content-Type: multipart/alternative; boundary="------------Zl9aH0J8nE3x4ZB0cPq1WkTd"\r\n'
    b"\r\n"
    b"--------------Zl9aH0J8nE3x4ZB0cPq1WkTd\r\n"
    b"Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Guten Tag,\r\n"
    b"\r\n"
    b"die Lieferung zu Bestellung #4417 kam besch\xc3\xa4digt an. Die Rechnung liegt \r\n"
    b"bei.\r\n"
    b"\r\n"
    b"Mit freundlichen Gr\xc3\xbc\xc3\x9fen\r\n"
    b"J\xc3\xb6rg M\xc3\xbcller\r\n"
    b"\r\n"
    b"--------------Zl9aH0J8nE3x4ZB0cPq1WkTd\r\n"
    b"Content-Type: text/html; charset=UTF-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"<!DOCTYPE html>\r\n"
    b"<html>\r\n"
    b"  <head>\r\n"
    b'    <meta http-equiv="content-type" content="text/html; charset=UTF-8">\r\n'
    b"  </head>\r\n"
    b"  <body>\r\n"
    b"    <p>Guten Tag,</p>\r\n"
    b"    <p>die Lieferung zu Bestellung #4417 kam <b>besch\xc3\xa4digt</b> an.</p>\r\n"
    b"  </body>\r\n"
    b"</html>\r\n"
    b"\r\n"
    b"--------------Zl9aH0J8nE3x4ZB0cPq1WkTd--\r\n"
    b"--------------8ypGzV0lYy5Q1yH2zNc7B1vm\r\n"
    b'Content-Type: application/pdf; name="Rechnung 4417.pdf"\r\n'
    b'Content-Disposition: attachment; filename="Rechnung 4417.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + _PDF_BASE64 + b"\r\n"
    b"\r\n"
    b"--------------8ypGzV0lYy5Q1yH2zNc7B1vm--\r\n"
)

# A French customer's old client: ISO-8859-1, quoted-printable, subject in ISO-8859-1 "Q".
LATIN1 = (
    b"From: =?ISO-8859-1?Q?Ren=E9e_Lef=E8vre?= <renee.lefevre@exemple.fr>\r\n"
    b"To: support@shop.example\r\n"
    b"Cc: Paul Lef\xe8vre <paul@exemple.fr>\r\n"
    b"Subject: =?ISO-8859-1?Q?Probl=E8me_de_livraison_=E0_Besan=E7on?=\r\n"
    b"Date: Wed, 08 May 2024 18:03:11 +0200\r\n"
    b"Message-ID: <20240508160311.GA4411@exemple.fr>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=ISO-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Bonjour,\r\n"
    b"\r\n"
    b"Le colis n'est pas arriv=E9 =E0 Besan=E7on. O=F9 en est la livraison ?\r\n"
    b"\r\n"
    b"Ren=E9e\r\n"
)

# Outlook 16, HTML only (no text/plain alternative), Windows-1252 quoted-printable: the euro
# sign is 0x80 and the typographic apostrophe 0x92 there, which ISO-8859-1 does not have.
OUTLOOK_HTML = (
    b"From: Sanne de Vries <sanne.devries@bedrijf.example.nl>\r\n"
    b'To: "support@shop.example" <support@shop.example>\r\n'
    b"Subject: Terugbetaling 49,95\r\n"
    b"Thread-Topic: Terugbetaling 49,95\r\n"
    b"Thread-Index: AdqhM1N0YWJsZSB0aHJlYWQgaW5kZXg=\r\n"
    b"Date: Thu, 9 May 2024 07:41:02 +0000\r\n"
    b"Message-ID:\r\n"
    b" <AM0PR07MB6249D3A1B2C3D4E5F6A7B8C9D0E1F2A3@AM0PR07MB6249.eurprd07.prod.outlook.com>\r\n"
    b"Accept-Language: nl-NL, en-US\r\n"
    b"Content-Language: nl-NL\r\n"
    b"X-MS-Has-Attach: \r\n"
    b'Content-Type: text/html; charset="Windows-1252"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"MIME-Version: 1.0\r\n"
    b"\r\n"
    b'<html xmlns:o=3D"urn:schemas-microsoft-com:office:office">\r\n'
    b'<head>\r\n<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3DWindows-1252=\r\n'
    b'">\r\n<style><!--\r\np.MsoNormal {margin:0cm; font-size:11.0pt;}\r\n--></style>\r\n'
    b"</head>\r\n"
    b'<body lang=3D"NL">\r\n<div class=3D"WordSection1">\r\n'
    b'<p class=3D"MsoNormal">Goedemorgen,<o:p></o:p></p>\r\n'
    b'<p class=3D"MsoNormal"><o:p>&nbsp;</o:p></p>\r\n'
    b'<p class=3D"MsoNormal">Ik wacht nog op de terugbetaling van =8049,95 voor order =\r\n'
    b"4417. Het is al 3 weken &amp; ik heb niets gehoord =96 kunt u=92t nakijken?=\r\n"
    b"<o:p></o:p></p>\r\n"
    b'<p class=3D"MsoNormal"><o:p>&nbsp;</o:p></p>\r\n'
    b'<p class=3D"MsoNormal">Met vriendelijke groet,<br>\r\nSanne<o:p></o:p></p>\r\n'
    b"</div>\r\n</body>\r\n</html>\r\n"
)

# The company's reply (Apple Mail style), continuing the Thunderbird thread: References and
# In-Reply-To name the customer's message; a second customer is on Cc.
REPLY = (
    b"From: Lena from Shop <lena@shop.example>\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.500.171.1.1\\))\r\n"
    b"Subject: Re: Reklamation - Bestellung #4417\r\n"
    b"Date: Tue, 7 May 2024 11:02:40 +0200\r\n"
    b"In-Reply-To: <5b0a6f3e-91c2-4d0e-8c1a-2f3b4c5d6e7f@kunde.example.de>\r\n"
    b"Cc: Support <support@shop.example>, anna.mueller@kunde.example.de\r\n"
    b"To: Joerg.Mueller@kunde.example.de\r\n"
    b"References: <5b0a6f3e-91c2-4d0e-8c1a-2f3b4c5d6e7f@kunde.example.de>\r\n"
    b"Message-Id: <A1B2C3D4-E5F6-4789-9ABC-DEF012345678@shop.example>\r\n"
    b"\r\n"
    b"Hello Joerg,\r\n"
    b"\r\n"
    b"a replacement is on its way.\r\n"
    b"\r\n"
    b"> die Lieferung zu Bestellung #4417 kam beschaedigt an.\r\n"
)

# The customer answers the reply: References carries the whole chain, oldest first.
FOLLOW_UP = (
    b"From: Joerg.Mueller@kunde.example.de\r\n"
    b"To: Lena from Shop <lena@shop.example>\r\n"
    b"Subject: Re: Re: Reklamation - Bestellung #4417\r\n"
    b"Date: Wed, 8 May 2024 08:00:00 +0200\r\n"
    b"Message-ID: <c3d4e5f6-0000-4000-8000-000000000003@kunde.example.de>\r\n"
    b"In-Reply-To: <A1B2C3D4-E5F6-4789-9ABC-DEF012345678@shop.example>\r\n"
    b"References: <5b0a6f3e-91c2-4d0e-8c1a-2f3b4c5d6e7f@kunde.example.de>\r\n"
    b" <A1B2C3D4-E5F6-4789-9ABC-DEF012345678@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Danke, angekommen.\r\n"
)

# A web-form notification sent by a script: no Message-ID, no Date, no MIME headers.
BARE = (
    b"From: forms@shop.example\r\n"
    b"To: support@shop.example\r\n"
    b"Subject: Contact form\r\n"
    b"\r\n"
    b"Name: Ann\r\nMessage: please call me back\r\n"
)

# A message whose charset label is unknown and whose UTF-8 body is broken halfway.
MISLABELLED = (
    b"From: someone@example.org\r\n"
    b"To: support@shop.example\r\n"
    b"Subject: =?x-unknown?Q?odd?= label\r\n"
    b"Date: Fri, 10 May 2024 12:00:00 -0000\r\n"
    b"Message-ID: <odd-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=x-mac-unknown\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"caf\xc3\xa9 ok\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"<p>caf\xc3\xa9 \xff broken</p>\r\n"
    b"--b1--\r\n"
)

# A sender header that holds no address at all, with a body in broken UTF-8.
BAD_SENDER = (
    b"From: Customer Service Team\r\n"
    b"To: support@shop.example\r\n"
    b"Subject: no address\r\n"
    b"Date: Fri, 10 May 2024 13:00:00 +0000\r\n"
    b"Message-ID: <bad-sender-1@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"na\xefve text\r\n"
)

# The company writes to three customers at once.
BROADCAST = (
    b"From: lena@shop.example\r\n"
    b"To: ann@example.org, support@shop.example\r\n"
    b"Cc: bob@example.net\r\n"
    b"Bcc: carol@example.com\r\n"
    b"Subject: Your recall appointment\r\n"
    b"Date: Sat, 11 May 2024 10:00:00 +0200\r\n"
    b"Message-ID: <broadcast-1@shop.example>\r\n"
    b"\r\n"
    b"See you on Monday.\r\n"
)

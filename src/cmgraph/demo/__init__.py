"""A realistic, deterministic demo practice: "Sunrise Pediatric Therapy" (America/Chicago).

``load_demo(db)`` fills an already-migrated database with one organization:

- 15 providers with valid NPIs and Texas credentials: 4 BCBAs (one BCBA-D), 2 BCaBAs,
  3 RBTs, 2 SLPs, 1 SLPA, 2 OTRs (one inactive) and 1 PT;
- 4 payors (Texas Medicaid, BCBS Texas, TRICARE East, Aetna), the first three naming their
  shipped plugins (tx_medicaid, bcbs_tx_tiers, tricare_acd), and the
  providers' enrollments with them (mostly enrolled for a year or more);
- 50 children and teens (EHR-1001 to EHR-1050) with a primary coverage, some with Texas
  Medicaid as secondary, in 1-2 of the service lines ABA, ST, OT and PT;
- a case manager for almost every client line: a qualified provider, credentialed with the
  client's payors, named well ahead of the first session, with some history of changes;
- 8 weeks of appointments (4 before ``today``, 4 after) on weekdays between 08:00 and 17:00
  Chicago time, 1-3 a week per line, delivered mostly by the case manager or, for ABA, by
  the client's RBT/BCaBA; past ones completed (some cancelled or no-show), future ones
  scheduled.

Every random choice comes from ``random.Random(2026)``, so the same ``today`` gives the same
practice (only the uuids and creation timestamps differ). Days below are relative to today.

Deliberate findings, for the compliance report and the Clinical tab to show:

1. NO_CASE_MANAGER: Mateo Garcia (EHR-1017) has an ABA case manager but started OT about
   two weeks ago and nobody was named his OT case manager; Ava Thompson (EHR-1023) is a new
   speech client (intake evaluation on the first weekday from 5 days ago) with no ST case
   manager either. Rosa Castillo and Carlos Ramirez deliver those sessions, so they are
   the familiar candidates.
2. NOT_CREDENTIALED (enrollment): Marcus Reed's BCBS Texas enrollment is TERMINATED with
   effective-to 21 days ago; he is still the ABA case manager of Liam Carter (EHR-1004),
   whose primary payor is BCBS Texas, so every ABA session after that date is flagged.
3. NOT_CREDENTIALED (coverage change): Noah Bennett (EHR-1009) changed primary payor from
   BCBS Texas (coverage effective-to 15 days ago) to TRICARE East (effective-from 14 days
   ago). His ST case manager Emily Hartley's TRICARE enrollment is still PENDING, so his ST
   sessions from the change on are flagged; his OT case manager is enrolled and fine.
   Carlos Ramirez (SLP, enrolled with TRICARE) covers about a third of his ST sessions: the
   familiar, credentialed replacement.
4. LEAD_TIME: Zoe Mitchell (EHR-1031) is a new ABA client whose case manager's start date
   is the day of her first session (09:00), 9 h of lead time instead of 24 h. The API
   refuses such an assignment; the demo writes the row directly.
5. Expired credential: Sofia Alvarez's BCBA certification expired 31 days ago. Her three
   ABA clients (EHR-1002, EHR-1012, EHR-1026) went to other BCBAs the next day. She is
   still an active, enrolled provider but no longer qualifies for ABA: suggestions leave
   her out (DISCIPLINE_MISMATCH if she is proposed).

Other history: Jenna Whitfield (OTR) left the practice 42 days ago and is inactive; her OT
clients (EHR-1011, EHR-1020) moved to Rosa Castillo the next day. Dr. Adaeze Okafor
(BCBA-D, clinical director) handed two ABA clients (EHR-1007, EHR-1015) to Hannah
Lindqvist 10 days ago, after Hannah had worked with them for three weeks. Two enrollments
are PENDING: Emily Hartley with TRICARE East and Tyler Brooks (BCaBA) with Aetna.

The package is for `cmgraph demo` and the tests, never for the request path (an
import-linter contract in pyproject.toml keeps it so): catalog.py holds who and what the
practice has, plans.py what will be created, practice.py the seeded builder that plans and
makes the rows, records.py their change records, and loading.py writes them once per slug.
"""

from cmgraph.demo.loading import DemoExists, DemoSummary, load_demo

__all__ = ["DemoExists", "DemoSummary", "load_demo"]

"""The benchmark's GraphQL documents, as the product's users send them. Plain text, so
the test suite checks these very documents (tests/api/test_growth.py) without the
benchmark's own dependencies."""

CASELOAD = """query Caseload($first: Int!) {
  clients(first: $first) {
    totalCount
    edges { node {
      id displayName externalId
      coverages { priority memberId payor { id name } }
      caseManagers {
        id serviceLine { code } startDate endDate
        provider { id displayName npi credentials { type } }
      }
    } }
  }
}"""

# One client as the caseload shows it (the peers' one-client page, bench/peers/).
CLIENT = """query Client($id: ID!) {
  client(id: $id) {
    id displayName externalId
    coverages { priority memberId payor { id name } }
    caseManagers {
      id serviceLine { code } startDate endDate
      provider { id displayName npi credentials { type } }
    }
  }
}"""

CLINICAL = """query ClinicalTab($id: ID!) {
  client(id: $id) {
    id displayName
    serviceLines {
      serviceLine { code }
      currentCaseManager { id startDate provider { displayName npi } }
      history { startDate endDate provider { displayName } }
      findings { code severity message date }
    }
  }
}"""

RENDERING = """query Rendering($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) {
    clientId serviceLine dateOfService
    provider { displayName npi } assignment { startDate } findings { code }
  }
}"""

CLAIM_LINES = """query ClaimLines($from: Date!, $to: Date!, $first: Int!, $after: String) {
  claimLines(from: $from, to: $to, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      dateOfService serviceCode modifiers client { displayName } payor { name }
      deliveredBy { npi } renderingProvider { npi } supervisingProvider { npi }
      findings { code }
    } }
  }
}"""

COMPLIANCE = """query Compliance($from: Date!, $to: Date!, $first: Int!, $after: String) {
  complianceFindings(from: $from, to: $to, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      code severity message date client { displayName }
      appointment { startsAt provider { npi } }
    } }
  }
}"""

ADD_CASE_MANAGER = """mutation AddCaseManager($input: AddCaseManagerInput!) {
  addCaseManager(input: $input) {
    caseManager { id version }
    userErrors { field code message }
    warnings { code }
  }
}"""

# The same page without totalCount: the report may stop judging once the page is found.
COMPLIANCE_PAGE_ONLY = COMPLIANCE.replace("    totalCount\n", "", 1)

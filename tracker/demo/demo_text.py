"""Words for the demo portal: matter title templates, names and places. All of it is fictional.

Titles are written in the style of real council titles. About one matter in eight is sanctuary-related in the
sense of ../shared/TAXONOMY.md (both directions: ``expands`` and ``restricts``, plus ``neutral`` reports);
the hard negatives share their vocabulary (an ice rink, a marine sanctuary, police vehicles, a heritage
month). Each template carries its ground-truth label: ``"<category>:<direction>"`` for relevant ones,
``"<neg_code>"`` for hard negatives, None for routine business.

Placeholders are filled per client (``{place}``, ``{code}``, ``{police}``...) and per matter (``{amount}``,
``{person}``, ``{street}``...) by :mod:`tracker.demo.data`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One kind of matter: type key, committee topic, title, and where it fits."""

    type_key: str  # ord, res, appt, comm, report, claim, agmt, procl
    topic: str  # finance, safety, health, zoning, transport, govops
    title: str
    label: str | None = None
    name: str | None = None  # MatterName, when the clerk gives one
    kinds: tuple[str, ...] = ("city", "county")
    requester: str | None = None  # MatterRequester (the submitting department)


def _t(
    type_key: str,
    topic: str,
    title: str,
    label: str | None = None,
    *,
    name: str | None = None,
    kinds: tuple[str, ...] = ("city", "county"),
    requester: str | None = None,
) -> Template:
    return Template(type_key, topic, title, label, name, kinds, requester)


CITY = ("city",)
COUNTY = ("county",)

SANCTUARY: tuple[Template, ...] = (
    _t(
        "ord",
        "safety",
        "An ordinance amending Chapter {chapter} of the {code} to prohibit the use of {jur_cap} resources to "
        "honor civil immigration detainer requests absent a judicial warrant",
        "detainers_warrants:expands",
        name="Civil immigration detainer limits",
    ),
    _t(
        "ord",
        "safety",
        "Ordinance restricting notification of release dates and transfers of persons in the custody of the "
        "{police_short} to U.S. Immigration and Customs Enforcement",
        "detainers_warrants:expands",
        kinds=COUNTY,
    ),
    _t(
        "ord",
        "safety",
        "Ordinance repealing Section {section} of the {code} (Limits on Cooperation with Civil Immigration "
        "Detainers)",
        "detainers_warrants:restricts",
    ),
    _t(
        "res",
        "safety",
        "Resolution directing the Sheriff to honor all immigration detainer requests issued by U.S. "
        "Immigration and Customs Enforcement",
        "detainers_warrants:restricts",
        kinds=COUNTY,
    ),
    _t(
        "res",
        "safety",
        "Resolution authorizing the Sheriff to enter into a Memorandum of Agreement with U.S. Immigration "
        "and Customs Enforcement under Section 287(g) of the Immigration and Nationality Act (Warrant "
        "Service Officer model)",
        "federal_enforcement_partnerships:restricts",
        kinds=COUNTY,
        requester="Sheriff's Office",
    ),
    _t(
        "ord",
        "safety",
        "Ordinance prohibiting {jur_cap} participation in 287(g) agreements and requiring Council approval "
        "of any joint task force with federal immigration authorities",
        "federal_enforcement_partnerships:expands",
    ),
    _t(
        "res",
        "safety",
        "Resolution approving renewal of the Memorandum of Understanding between the {police} and the "
        "Federal Bureau of Investigation Joint Terrorism Task Force",
        "federal_enforcement_partnerships:restricts",
        kinds=CITY,
        requester="Police Department",
    ),
    _t(
        "ord",
        "govops",
        "Ordinance establishing Council approval, a public Surveillance Impact Report and a Surveillance Use "
        "Policy before the acquisition or use of surveillance technology by any {jur_cap} department",
        "surveillance_technology:expands",
        name="Surveillance technology oversight",
    ),
    _t(
        "agmt",
        "safety",
        "Authorize a {term}-year agreement with Flock Safety for automated license plate reader cameras and "
        "cloud data services for the {police}, in an amount not to exceed {amount}",
        "surveillance_technology:restricts",
        requester="Police Department",
    ),
    _t(
        "agmt",
        "safety",
        "Purchase of facial recognition software licenses for the Real-Time Crime Center from {tech_vendor} "
        "in the amount of {amount}",
        "surveillance_technology:restricts",
        requester="Police Department",
    ),
    _t(
        "ord",
        "govops",
        "Ordinance amending the automated license plate reader (ALPR) use policy to prohibit sharing plate "
        "data with federal immigration authorities and to limit retention to 30 days",
        "surveillance_technology:expands",
    ),
    _t(
        "report",
        "govops",
        "Surveillance Impact Report and Surveillance Use Policy: Automated License Plate Readers ({police})",
        "surveillance_technology:neutral",
        requester="Police Department",
    ),
    _t(
        "agmt",
        "safety",
        "Acceptance of a donation of four unmanned aerial systems (drones) and approval of a drone first "
        "responder program for the {police}",
        "surveillance_technology:restricts",
        requester="Police Department",
    ),
    _t(
        "ord",
        "safety",
        "Ordinance abolishing the {police} gang database and prohibiting the sharing of gang designation "
        "information with federal immigration authorities",
        "gang_databases:expands",
    ),
    _t(
        "res",
        "safety",
        "Resolution establishing a Gang Enforcement Unit and authorizing civil gang injunctions in the "
        "{district_name} district",
        "gang_databases:restricts",
    ),
    _t(
        "ord",
        "health",
        "Ordinance creating the {place} Municipal Identification Card program and establishing acceptable "
        "proof of identity and proof of residency regardless of immigration status",
        "municipal_id_services:expands",
        name="Municipal ID",
        kinds=CITY,
    ),
    _t(
        "report",
        "health",
        "Presentation: {place} Municipal ID program implementation update",
        "municipal_id_services:neutral",
        kinds=CITY,
    ),
    _t(
        "ord",
        "finance",
        "Ordinance appropriating {amount} from the General Fund to the Immigrant Legal Defense Fund for "
        "removal defense services for {place} residents",
        "legal_defense:expands",
    ),
    _t(
        "agmt",
        "health",
        "Agreement with {legal_vendor} for immigration legal services and a rapid response hotline on "
        "immigration enforcement activity, fiscal year {fy}",
        "legal_defense:expands",
    ),
    _t(
        "ord",
        "govops",
        "Ordinance prohibiting the use of {jur_cap} property, including parking facilities, as staging areas "
        "for federal civil immigration enforcement and requiring a judicial warrant for access to non-public "
        "areas",
        "ice_access_property:expands",
    ),
    _t(
        "report",
        "safety",
        "TRUTH Act community forum: report on U.S. Immigration and Customs Enforcement access to individuals "
        "in the custody of the {police_short} (Government Code 7283.1)",
        "ice_access_property:neutral",
        kinds=COUNTY,
    ),
    _t(
        "agmt",
        "safety",
        "Intergovernmental Service Agreement with U.S. Immigration and Customs Enforcement for the housing "
        "of federal detainees at the {place} Detention Center, with a guaranteed minimum of {beds} beds",
        "detention_contracts:restricts",
        kinds=COUNTY,
        requester="Sheriff's Office",
    ),
    _t(
        "res",
        "safety",
        "Resolution directing the Sheriff to terminate the Intergovernmental Service Agreement with U.S. "
        "Immigration and Customs Enforcement for jail housing of immigration detainees",
        "detention_contracts:expands",
        kinds=COUNTY,
    ),
    _t(
        "agmt",
        "safety",
        "AGMT - INMATE HOUSING - U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT (AMENDMENT NO. {n})",
        "detention_contracts:restricts",
        kinds=COUNTY,
        requester="Sheriff's Office",
    ),
    _t(
        "ord",
        "finance",
        "Ordinance prohibiting {jur_cap} contracts with entities engaged in private immigration detention or "
        "in brokering data for immigration enforcement",
        "detention_contracts:expands",
        kinds=CITY,
    ),
    _t(
        "res",
        "govops",
        "Resolution reaffirming {place} as a Welcoming City and directing {jur_cap} departments not to "
        "inquire into the immigration status of residents seeking {jur_cap} services",
        "sanctuary_declaration:expands",
        kinds=CITY,
    ),
    _t(
        "res",
        "govops",
        "Resolution declaring {place} a Rule of Law County and supporting cooperation with federal "
        "immigration authorities",
        "sanctuary_declaration:restricts",
        kinds=COUNTY,
    ),
    _t(
        "ord",
        "govops",
        "Ordinance prohibiting {jur_cap} employees from collecting or sharing information on immigration or "
        "citizenship status except as required by law",
        "data_privacy_status:expands",
    ),
    _t(
        "res",
        "govops",
        "Resolution calling on Congress to end private immigration detention and to require U.S. Immigration "
        "and Customs Enforcement (ICE) agents to display identification and wear body cameras",
        "state_federal_advocacy:expands",
    ),
    _t(
        "ord",
        "health",
        "Ordinance establishing a Language Access Plan for {jur_cap} departments serving limited English "
        "proficient residents",
        "welcoming_language_access:expands",
    ),
    _t(
        "agmt",
        "safety",
        "Agreement with the {school_district} creating a new School Resource Officer program at six middle "
        "schools",
        "police_in_schools:restricts",
        kinds=CITY,
        requester="Police Department",
    ),
    _t(
        "ord",
        "safety",
        "Ordinance establishing a Community Police Oversight Commission with subpoena power and reporting on "
        "use of force and investigative stops",
        "police_accountability:expands",
        kinds=CITY,
    ),
)

HARD_NEGATIVES: tuple[Template, ...] = (
    _t(
        "agmt",
        "finance",
        "Agreement with Frostline Arena Management for operation of the {place} Municipal Ice Rink, "
        "{year}-{year3} seasons",
        "neg_ice_other",
    ),
    _t(
        "agmt",
        "transport",
        "Snow and Ice Removal services contract with {contractor} for the {winter} winter season, in an "
        "amount not to exceed {amount}",
        "neg_ice_other",
        requester="Department of Public Works",
    ),
    _t(
        "res",
        "govops",
        "Resolution supporting the designation of the Alder Sound National Marine Sanctuary",
        "neg_sanctuary_other",
    ),
    _t(
        "res",
        "govops",
        "Resolution congratulating the Sanctuary Hills Neighborhood Association on its 50th anniversary",
        "neg_sanctuary_other",
    ),
    _t(
        "agmt",
        "safety",
        "Purchase of {vehicles} Police Interceptor Utility vehicles for the {police} from {dealer} in the "
        "amount of {amount}",
        "neg_police_routine",
        requester="Fleet and Facility Management",
    ),
    _t(
        "agmt",
        "safety",
        "Purchase of body-worn cameras, docking stations and evidence storage for the {police}",
        "neg_police_routine",
        requester="Police Department",
    ),
    _t(
        "agmt",
        "safety",
        "Renewal of the School Resource Officer agreement with the {school_district} at existing staffing "
        "levels, fiscal year {fy}",
        "neg_police_routine",
        kinds=CITY,
    ),
    _t(
        "procl",
        "govops",
        "Proclamation recognizing June {year} as Immigrant Heritage Month",
        "neg_heritage_ceremonial",
    ),
    _t(
        "res",
        "finance",
        "Resolution authorizing acceptance of the FY{year} Edward Byrne Memorial Justice Assistance Grant "
        "(JAG) award of {amount}",
        "neg_federal_funding",
    ),
    _t(
        "ord",
        "zoning",
        "Ordinance approving construction of the {street} Detention Pond and related stormwater improvements",
        "neg_shared_vocabulary",
    ),
    _t(
        "ord",
        "health",
        "Ordinance establishing a right to counsel for tenants facing eviction",
        "neg_shared_vocabulary",
        kinds=CITY,
    ),
    _t(
        "res",
        "govops",
        "Resolution urging U.S. Citizenship and Immigration Services to reduce naturalization application "
        "fees",
        "neg_immigration_benefits",
    ),
    _t(
        "agmt",
        "safety",
        "Joint powers agreement with the State Internet Crimes Against Children Task Force",
        "neg_task_force_nonimmigration",
        requester="Police Department",
    ),
    _t(
        "agmt",
        "transport",
        "Agreement with U.S. Customs and Border Protection for Federal Inspection Services at the {place} "
        "International Airport",
        "neg_cbp_customs",
        kinds=CITY,
    ),
)

ROUTINE: tuple[Template, ...] = (
    _t(
        "ord",
        "finance",
        "Ordinance amending the {year} Annual Appropriation Ordinance to transfer {amount} within the "
        "Department of {dept}",
    ),
    _t("ord", "zoning", "Zoning map amendment at {address} ({ward_label} {ward}) from RS-3 to RM-5"),
    _t(
        "ord", "zoning", "Ordinance designating the {street} Historic District as a {place} landmark district"
    ),
    _t("ord", "zoning", "Ordinance granting a sign permit to {business} at {address}"),
    _t(
        "ord",
        "govops",
        "Ordinance amending Chapter {chapter} of the {code} regarding short-term rental registration",
    ),
    _t("ord", "transport", "Ordinance establishing residential permit parking Zone {n} on {street}"),
    _t(
        "ord",
        "finance",
        "Ordinance amending the {code} to raise the minimum wage paid by {jur_cap} contractors",
    ),
    _t("ord", "finance", "Ordinance authorizing the sale of surplus {jur_cap} property at {address}"),
    _t("ord", "transport", "Traffic regulation: all-way stop at {street} and {street2}"),
    _t("ord", "finance", "Ordinance levying property taxes for fiscal year {fy}"),
    _t(
        "ord",
        "transport",
        "Ordinance amending Chapter {chapter} of the {code} regarding sidewalk cafe permits",
    ),
    _t(
        "ord",
        "zoning",
        "Ordinance requiring electric vehicle charging readiness in new residential construction",
    ),
    _t(
        "ord",
        "finance",
        "Ordinance authorizing General Obligation Bonds, Series {year}A, in an amount not to exceed {amount}",
    ),
    _t("ord", "health", "Ordinance amending the {code} to regulate the sale of flavored tobacco products"),
    _t("res", "health", "Resolution adopting the {place} Climate Action Plan update"),
    _t(
        "res",
        "finance",
        "Resolution declaring intent to create a Special Service Area for the {street} corridor",
    ),
    _t("res", "health", "Resolution calling for hearings on the replacement of lead service lines"),
    _t("res", "transport", "Resolution authorizing an application for a state Safe Routes to School grant"),
    _t("res", "finance", "Resolution adopting the fiscal year {fy} Capital Improvement Program"),
    _t(
        "procl",
        "govops",
        "Resolution honoring the {place} High School girls' basketball team, state champions",
    ),
    _t("procl", "govops", "Proclamation declaring {month} {year} as {observance}"),
    _t("appt", "govops", "Appointment of {person} as a member of the {board} for a term expiring {expiry}"),
    _t("appt", "govops", "Reappointment of {person} as a member of the {board}"),
    _t("appt", "govops", "Appointment of {person} as Director of the Department of {dept}"),
    _t(
        "comm",
        "finance",
        "Communication from the {jur_cap} Treasurer transmitting the Quarterly Investment Report for the "
        "period ending {quarter_end}",
    ),
    _t(
        "comm",
        "govops",
        "Communication from the {jur_cap} Clerk transmitting the annual report of the Board of Ethics",
    ),
    _t("comm", "zoning", "Communication from {person} regarding construction noise at {address}"),
    _t("report", "finance", "Report of the Department of Finance on revenue collections, {quarter}"),
    _t("report", "transport", "Report on the {year} Pavement Condition Index and street resurfacing plan"),
    _t("report", "govops", "Annual report of the {board}"),
    _t("claim", "finance", "Claim of {person} for property damage (vehicle) at {street} and {street2}"),
    _t("claim", "finance", "Claim of {person} for personal injury (sidewalk trip and fall) at {address}"),
    _t("claim", "finance", "Claim of {insurer} as subrogee of {person} for water damage from a main break"),
    _t(
        "agmt",
        "transport",
        "Agreement with {contractor} for {street} resurfacing, in an amount not to exceed {amount}",
        requester="Department of Public Works",
    ),
    _t(
        "agmt",
        "transport",
        "Contract with {contractor} for water main replacement on {street}, Phase {n}",
        requester="Department of Public Works",
    ),
    _t("agmt", "finance", "Lease agreement with {business} for {jur_cap}-owned property at {address}"),
    _t(
        "agmt",
        "zoning",
        "Professional services agreement with {consultant} for the Comprehensive Plan update",
    ),
    _t("agmt", "health", "Agreement with {vendor} for library e-book and digital media services"),
    _t(
        "agmt",
        "health",
        "Intergovernmental agreement with the {school_district} for shared use of athletic fields",
    ),
)

FIRST_NAMES = (
    "Maria", "James", "Aisha", "Wei", "Daniel", "Priya", "Samuel", "Lucia", "Tomas", "Grace", "Omar",
    "Hannah", "Jamal", "Elena", "Kenji", "Rosa", "Patrick", "Fatima", "Andre", "Ingrid", "Luis", "Nadia",
    "Robert", "Mei", "Carlos", "Yasmin", "Owen", "Leah", "Tariq", "Beatriz", "Marcus", "Sofia", "Dmitri",
    "Alana", "Victor", "Keisha", "Anton", "Noor", "Felix", "Camila",
)  # fmt: skip

LAST_NAMES = (
    "Alvarez", "Okafor", "Chen", "Lindqvist", "Brennan", "Nakamura", "Haddad", "Kowalski", "Mensah",
    "Delgado", "Whitfield", "Osei", "Petrov", "Tran", "Gallagher", "Rahman", "Moreau", "Castillo",
    "Fischer", "Adeyemi", "Sorensen", "Iqbal", "Marsh", "Quintero", "Holloway", "Dubois", "Yamada",
    "Okonkwo", "Reyes", "Sutherland", "Varga", "Bianchi", "Ferreira", "Kaplan", "Lund", "Mbeki", "Novak",
    "Ortega", "Pham", "Sato",
)  # fmt: skip

STREETS = (
    "Maple Avenue", "Harbor Street", "Kettle Road", "Birchwood Drive", "Cannery Way", "Ferry Street",
    "Old Mill Road", "Lakeshore Boulevard", "Quarry Lane", "Alder Way", "Pine Street", "Third Avenue",
    "Willow Creek Road", "Foundry Street", "Orchard Lane", "Granite Avenue", "Riverside Drive",
    "Station Street",
)  # fmt: skip

BUSINESSES = (
    "Bluebird Coffee Roasters", "Tidewater Brewing Company", "Halden Hardware", "Corner Book Exchange",
    "Northstar Fitness", "Saltbox Bakery", "Copperleaf Pharmacy", "Meridian Auto Care",
)  # fmt: skip

CONTRACTORS = (
    "Cascade Paving Co.", "Riverbend Civil Constructors", "Summit Underground Utilities",
    "Ironwood Builders", "Granite State Excavating", "Blue Heron Landscaping",
)  # fmt: skip

VENDORS = (
    "Brightline Library Services",
    "Civic Data Partners",
    "Evergreen Office Supply",
    "Keystone Fleet Parts",
)
TECH_VENDORS = ("Vantage Vision Analytics", "ClearSight Biometrics", "Sentinel Imaging Systems")
LEGAL_VENDORS = (
    "the Immigrant Defense Collaborative",
    "Harbor Immigrant Legal Services",
    "the Lakeside Legal Aid Society",
)
CONSULTANTS = ("Halvorsen Planning Group", "Urban Fabric Associates", "Tern & Marsh Consulting")
DEALERS = ("Harbor Ford", "Lakeside Fleet Sales", "Tri-County Auto Group")
INSURERS = ("Great Plains Mutual Insurance", "Keel Harbor Casualty Company")
BOARDS = (
    "Library Board", "Plan Commission", "Board of Zoning Appeals", "Human Rights Commission",
    "Parks and Recreation Board", "Arts Commission", "Board of Health", "Community Police Commission",
)  # fmt: skip
DEPARTMENTS = (
    "Public Works", "Finance", "Planning and Development", "Parks and Recreation", "Human Services",
    "Information Technology", "Fleet and Facility Management", "Housing",
)  # fmt: skip
OBSERVANCES = (
    "Arbor Month", "Fire Prevention Month", "Small Business Month", "Library Card Sign-up Month",
    "Bike to Work Month", "Public Service Recognition Month",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip


# One opaque title whose document decides it (demo data, fictional): the title says nothing about
# immigration; the agreement attached to it does. Added once to the first county, outside the random mix.
OPAQUE_AGREEMENT = _t(
    "agmt",
    "safety",
    "AGREEMENT - INMATE HOUSING (AMENDMENT NO. 2)",
    "detention_contracts:restricts",
    kinds=COUNTY,
    requester="Sheriff's Office",
)


def opaque_agreement_text(place: str) -> tuple[str, ...]:
    """The deciding text of :data:`OPAQUE_AGREEMENT`'s "Agreement" attachment (demo data, fictional)."""
    return (
        "INTERGOVERNMENTAL SERVICE AGREEMENT - AMENDMENT NO. 2 (demo document, fictional)",
        f"This Intergovernmental Service Agreement is entered into between {place} and U.S. Immigration "
        "and Customs Enforcement (ICE) for the housing of ICE detainees in the county jail at a rate of "
        "98 dollars per bed day.",
        "Section 2. Term. This amendment extends the agreement for five years from the date of signature.",
    )

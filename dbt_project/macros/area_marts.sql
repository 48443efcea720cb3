{#- The area marts the reporting team queries (models/marts/<area>/agg_<area>_*): figures
    only, never one row per person or record. Two kinds per area, each generated here:

    indicator_area_mart(area): the catalogue's indicators of the area at reporting unit x
        submitting unit x month grain, with the version in force (the trace from a figure
        to its submission), read from int_indicator_unit_months (THE figures).

    breakdown_area_mart(area): the breakdowns the reporting team asks for (sex, age band
        at the month's end, category or circumstance, benefit kind, training level,
        destination ...) at reporting unit x month grain, one breakdown at a time (never
        crossed), every category of the code list present (0 when none), plus the
        province '04' as the sum of the units. What is broken down is breakdown_spec().
        Small cells of sensitive codes (dim_codes.is_sensitive) are suppressed when the
        table leaves the restricted zone (dolisa.disclosure, at publish). -#}

{% macro indicator_area_mart(area) -%}
with

unit_months as (

    select * from {{ ref('int_indicator_unit_months') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

final as (

    select
        unit_months.half_year,
        unit_months.period,
        unit_months.report_unit_code as unit_code,
        unit_months.origin_unit_code as source_unit_code,
        unit_months.submission_id,
        unit_months.version,
        unit_months.indicator_code,
        catalogue.label_vi,
        catalogue.unit_vi,
        unit_months.kind,
        unit_months.month_value,
        unit_months.half_year_contribution
    from unit_months
    inner join catalogue
        on unit_months.indicator_code = catalogue.indicator_code
    where catalogue.area = '{{ area }}'

)

select * from final
{%- endmacro %}


{#- What the breakdown marts break down: per dataset (its fact model), the columns, one
    breakdown each. A register (kind snapshot) counts its ACTIVE rows, the register in
    force in the month; an event dataset counts its rows. `age_band` is derived from
    birth_date (completed years on the month's last day, seed age_bands); `max_age` leaves
    out the age bands a dataset's people cannot reach (children: under 16, contract §4). A
    new breakdown is a column name in this list. -#}
{% macro breakdown_spec() %}
    {{ return([
        {'area': 'labour', 'dataset': 'vocational_enrolments', 'model': 'fct_vocational_enrolments', 'columns': ['sex', 'age_band', 'training_level']},
        {'area': 'labour', 'dataset': 'job_placements', 'model': 'fct_job_placements', 'columns': ['sex', 'age_band', 'destination']},
        {'area': 'labour', 'dataset': 'overseas_departures', 'model': 'fct_overseas_departures', 'columns': ['sex', 'age_band']},
        {'area': 'labour', 'dataset': 'employment_fund_loans', 'model': 'fct_employment_fund_loans', 'columns': ['borrower_type']},
        {'area': 'labour', 'dataset': 'unemployment_benefit_decisions', 'model': 'fct_unemployment_benefit_decisions', 'columns': ['sex']},
        {'area': 'social_protection', 'dataset': 'social_allowance_register', 'model': 'fct_social_allowance_register_snapshots', 'columns': ['sex', 'age_band', 'category'], 'where': "status = 'ACTIVE'"},
        {'area': 'social_protection', 'dataset': 'social_assistance_payments', 'model': 'fct_social_assistance_payments', 'columns': ['kind']},
        {'area': 'social_protection', 'dataset': 'rice_relief', 'model': 'fct_rice_relief_allocations', 'columns': ['occasion']},
        {'area': 'social_protection', 'dataset': 'meritorious_benefits', 'model': 'fct_meritorious_benefits', 'columns': ['benefit']},
        {'area': 'child_welfare', 'dataset': 'child_protection_register', 'model': 'fct_child_protection_register_snapshots', 'columns': ['sex', 'age_band', 'circumstance'], 'where': "status = 'ACTIVE'", 'max_age': 15},
        {'area': 'child_welfare', 'dataset': 'child_support_events', 'model': 'fct_child_support_events', 'columns': ['sex', 'age_band', 'support'], 'max_age': 15},
    ]) }}
{% endmacro %}


{% macro breakdown_area_mart(area) -%}
{%- set specs = [] -%}
{%- for spec in breakdown_spec() if spec['area'] == area -%}
    {%- do specs.append(spec) -%}
{%- endfor -%}
with

unit_months as (

    select * from {{ ref('int_unit_months_in_force') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

codes as (

    select * from {{ ref('dim_codes') }}

),

age_bands as (

    select * from {{ ref('age_bands') }}

),

breakdowns as (

    {% for spec in specs -%}
    {%- for column in spec['columns'] -%}
    select
        '{{ spec["dataset"] }}' as dataset,
        '{{ column }}' as breakdown,
        {{ spec.get('max_age', 'cast(null as integer)') }} as max_age
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

counted as (

    {% for spec in specs -%}
    {%- for column in spec['columns'] -%}
    select
        '{{ spec["dataset"] }}' as dataset,
        '{{ column }}' as breakdown,
        {%- if column == 'age_band' %}
        coalesce(age_bands.code, 'UNKNOWN') as category,
        {%- else %}
        coalesce(cast(records.{{ column }} as varchar), 'UNKNOWN') as category,
        {%- endif %}
        records.period,
        records.origin_unit_code,
        records.origin_unit_valid_from,
        count(*) as records
    from {{ ref(spec['model']) }} as records
    {%- if column == 'age_band' %}
    inner join months on records.period = months.period
    left join age_bands
        on date_sub('year', records.birth_date, months.month_end_on) between age_bands.min_age and age_bands.max_age
    {%- endif %}
    where {{ spec.get('where', 'true') }}
    group by all
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

by_unit as (

    select
        unit_months.report_unit_code as unit_code,
        counted.period,
        counted.dataset,
        counted.breakdown,
        counted.category,
        sum(counted.records) as records
    from counted
    inner join unit_months
        on
            counted.period = unit_months.period
            and counted.origin_unit_code = unit_months.origin_unit_code
            and counted.origin_unit_valid_from = unit_months.origin_unit_valid_from
    group by all

),

-- every category of the code list (or age band) for every unit-month in force
grid as (

    select distinct
        unit_months.report_unit_code as unit_code,
        unit_months.period,
        breakdowns.dataset,
        breakdowns.breakdown,
        codes.code as category
    from unit_months
    cross join breakdowns
    inner join codes
        on
            codes.column_name = breakdowns.breakdown
            and codes.dataset in (breakdowns.dataset, '*')
    left join age_bands
        on
            breakdowns.breakdown = 'age_band'
            and codes.code = age_bands.code
    where breakdowns.max_age is null or age_bands.min_age is null or age_bands.min_age <= breakdowns.max_age

),

units as (

    select
        coalesce(grid.unit_code, by_unit.unit_code) as unit_code,
        coalesce(grid.period, by_unit.period) as period,
        coalesce(grid.dataset, by_unit.dataset) as dataset,
        coalesce(grid.breakdown, by_unit.breakdown) as breakdown,
        coalesce(grid.category, by_unit.category) as category,
        coalesce(by_unit.records, 0) as records
    from grid
    full outer join by_unit
        on
            grid.unit_code = by_unit.unit_code
            and grid.period = by_unit.period
            and grid.dataset = by_unit.dataset
            and grid.breakdown = by_unit.breakdown
            and grid.category = by_unit.category

),

province as (

    select
        '04' as unit_code,
        period,
        dataset,
        breakdown,
        category,
        sum(records) as records
    from units
    group by all

),

final as (

    select
        months.half_year,
        cells.period,
        cells.unit_code,
        cells.dataset,
        cells.breakdown,
        cells.category,
        coalesce(codes.label_vi, 'Không rõ') as category_label_vi,
        coalesce(codes.sort_order, 999) as category_sort_order,
        coalesce(codes.is_sensitive, false) as is_sensitive,
        cast(cells.records as bigint) as records
    from (
        select * from units
        union all
        select * from province
    ) as cells
    inner join months on cells.period = months.period
    left join codes
        on
            cells.breakdown = codes.column_name
            and cells.category = codes.code
            and codes.dataset in (cells.dataset, '*')

)

select * from final
{%- endmacro %}

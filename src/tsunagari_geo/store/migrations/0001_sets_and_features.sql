-- The PostGIS store: every import and every build is one versioned set of rows, and a pointer
-- per kind names the set readers use. A writer fills a new set, checks it and moves the pointer
-- in one transaction, so readers see the old set or the new one, never half of one.
CREATE EXTENSION IF NOT EXISTS postgis;

-- One import (kind 'reference') or one build (kind 'layers'). ``meta`` holds each role's
-- metadata (role → key/value, as the GeoPackage's metadata table), ``manifest`` each role's
-- content digest and row counts, ``version`` the set's version (as the GeoPackage manifest's).
CREATE TABLE tsunagari_sets (
    id         bigserial   PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('reference', 'layers')),
    version    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    meta       jsonb       NOT NULL,
    manifest   jsonb       NOT NULL
);

-- The layers and tables of a set, per role ('reference', 'public', 'planner'): their order,
-- their columns in order with the type each comes back as, and whether they have geometry.
CREATE TABLE tsunagari_layers (
    set_id   bigint  NOT NULL REFERENCES tsunagari_sets (id) ON DELETE CASCADE,
    role     text    NOT NULL,
    layer    text    NOT NULL,
    position integer NOT NULL,
    columns  jsonb   NOT NULL,
    geometry boolean NOT NULL,
    rows     integer NOT NULL,
    PRIMARY KEY (set_id, role, layer)
);

-- Every row of every layer: its properties as JSON (lists as JSON arrays) and its geometry in
-- EPSG:4326. ``ord`` is the row's place in its layer (the order the service lists it in).
CREATE TABLE tsunagari_features (
    set_id bigint  NOT NULL,
    role   text    NOT NULL,
    layer  text    NOT NULL,
    ord    integer NOT NULL,
    props  jsonb   NOT NULL,
    geom   geometry(Geometry, 4326),
    PRIMARY KEY (set_id, role, layer, ord),
    FOREIGN KEY (set_id, role, layer) REFERENCES tsunagari_layers ON DELETE CASCADE
);
-- bbox queries: `geom && envelope AND ST_Intersects(geom, envelope)` use this index.
CREATE INDEX tsunagari_features_geom ON tsunagari_features USING gist (geom);

-- The set readers use, per kind. Moving it is the publication.
CREATE TABLE tsunagari_current (
    kind   text   PRIMARY KEY CHECK (kind IN ('reference', 'layers')),
    set_id bigint NOT NULL REFERENCES tsunagari_sets (id)
);

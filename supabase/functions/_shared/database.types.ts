export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: "12"
  }
  public: {
    Tables: {
      activities: {
        Row: {
          action: string
          created_at: string
          details: NonNullable<Json>
          id: string
          organization_id: string | null
          resource_id: string | null
          resource_type: string
          user_id: string | null
        }
        Insert: {
          action: string
          created_at?: string
          details?: NonNullable<Json>
          id?: string
          organization_id?: string | null
          resource_id?: string | null
          resource_type: string
          user_id?: string | null
        }
        Update: {
          action?: string
          created_at?: string
          details?: NonNullable<Json>
          id?: string
          organization_id?: string | null
          resource_id?: string | null
          resource_type?: string
          user_id?: string | null
        }
        Relationships: []
      }
      agent_executions: {
        Row: {
          agent_id: string
          completed_at: string | null
          completion_tokens: number | null
          conversation_id: string | null
          created_at: string
          error: string | null
          id: string
          idempotency_key: string | null
          input: NonNullable<Json>
          latency_ms: number | null
          model: string | null
          organization_id: string
          output: Json | null
          prompt_tokens: number | null
          request_hash: string | null
          started_at: string | null
          status: string
          total_tokens: number | null
          updated_at: string
          user_id: string
        }
        Insert: {
          agent_id: string
          completed_at?: string | null
          completion_tokens?: number | null
          conversation_id?: string | null
          created_at?: string
          error?: string | null
          id?: string
          idempotency_key?: string | null
          input?: NonNullable<Json>
          latency_ms?: number | null
          model?: string | null
          organization_id: string
          output?: Json | null
          prompt_tokens?: number | null
          request_hash?: string | null
          started_at?: string | null
          status?: string
          total_tokens?: never
          updated_at?: string
          user_id?: string
        }
        Update: {
          agent_id?: string
          completed_at?: string | null
          completion_tokens?: number | null
          conversation_id?: string | null
          created_at?: string
          error?: string | null
          id?: string
          idempotency_key?: string | null
          input?: NonNullable<Json>
          latency_ms?: number | null
          model?: string | null
          organization_id?: string
          output?: Json | null
          prompt_tokens?: number | null
          request_hash?: string | null
          started_at?: string | null
          status?: string
          total_tokens?: never
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "agent_executions_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_executions_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_executions_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      agents: {
        Row: {
          created_at: string
          description: string
          description_embedding: unknown
          id: string
          max_tokens: number
          metadata: NonNullable<Json>
          model: string
          name: string
          organization_id: string
          owner_id: string | null
          status: string
          summary_threshold: number
          system_prompt: string
          temperature: number
          type: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          description?: string
          description_embedding?: unknown
          id?: string
          max_tokens?: number
          metadata?: NonNullable<Json>
          model?: string
          name: string
          organization_id: string
          owner_id?: string | null
          status?: string
          summary_threshold?: number
          system_prompt?: string
          temperature?: number
          type?: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          description?: string
          description_embedding?: unknown
          id?: string
          max_tokens?: number
          metadata?: NonNullable<Json>
          model?: string
          name?: string
          organization_id?: string
          owner_id?: string | null
          status?: string
          summary_threshold?: number
          system_prompt?: string
          temperature?: number
          type?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "agents_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      analytics_daily_rollups: {
        Row: {
          bucket: string
          count: number
          duration_count: number
          duration_max: number | null
          duration_sum: number | null
          error_count: number
          name: string
          organization_id: string
          p50_ms: number | null
          p95_ms: number | null
          p99_ms: number | null
          tokens: number
          updated_at: string
          value_sum: number | null
        }
        Insert: {
          bucket: string
          count: number
          duration_count: number
          duration_max?: number | null
          duration_sum?: number | null
          error_count: number
          name: string
          organization_id: string
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          updated_at?: string
          value_sum?: number | null
        }
        Update: {
          bucket?: string
          count?: number
          duration_count?: number
          duration_max?: number | null
          duration_sum?: number | null
          error_count?: number
          name?: string
          organization_id?: string
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          updated_at?: string
          value_sum?: number | null
        }
        Relationships: []
      }
      analytics_events: {
        Row: {
          client_id: string | null
          duration_ms: number | null
          id: string
          is_error: boolean
          name: string
          occurred_at: string
          organization_id: string
          properties: NonNullable<Json>
          received_at: string
          session_id: string | null
          source: string
          tokens: number | null
          user_id: string | null
          value: number | null
        }
        Insert: {
          client_id?: string | null
          duration_ms?: number | null
          id?: string
          is_error?: boolean
          name: string
          occurred_at?: string
          organization_id: string
          properties?: NonNullable<Json>
          received_at?: string
          session_id?: string | null
          source?: string
          tokens?: number | null
          user_id?: string | null
          value?: number | null
        }
        Update: {
          client_id?: string | null
          duration_ms?: number | null
          id?: string
          is_error?: boolean
          name?: string
          occurred_at?: string
          organization_id?: string
          properties?: NonNullable<Json>
          received_at?: string
          session_id?: string | null
          source?: string
          tokens?: number | null
          user_id?: string | null
          value?: number | null
        }
        Relationships: [
          {
            foreignKeyName: "analytics_events_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      analytics_hourly_rollups: {
        Row: {
          bucket: string
          count: number
          duration_count: number
          duration_max: number | null
          duration_sum: number | null
          error_count: number
          name: string
          organization_id: string
          p50_ms: number | null
          p95_ms: number | null
          p99_ms: number | null
          tokens: number
          updated_at: string
          value_sum: number | null
        }
        Insert: {
          bucket: string
          count: number
          duration_count: number
          duration_max?: number | null
          duration_sum?: number | null
          error_count: number
          name: string
          organization_id: string
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          updated_at?: string
          value_sum?: number | null
        }
        Update: {
          bucket?: string
          count?: number
          duration_count?: number
          duration_max?: number | null
          duration_sum?: number | null
          error_count?: number
          name?: string
          organization_id?: string
          p50_ms?: number | null
          p95_ms?: number | null
          p99_ms?: number | null
          tokens?: number
          updated_at?: string
          value_sum?: number | null
        }
        Relationships: [
          {
            foreignKeyName: "analytics_hourly_rollups_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      conversations: {
        Row: {
          agent_id: string
          created_at: string
          id: string
          last_message_at: string | null
          last_message_seq: number
          message_count: number
          metadata: NonNullable<Json>
          organization_id: string
          status: string
          summarized_at: string | null
          summarized_until: number
          summary: string | null
          summary_embedding: unknown
          summary_model: string | null
          title: string | null
          updated_at: string
          user_id: string
        }
        Insert: {
          agent_id: string
          created_at?: string
          id?: string
          last_message_at?: string | null
          last_message_seq?: number
          message_count?: number
          metadata?: NonNullable<Json>
          organization_id: string
          status?: string
          summarized_at?: string | null
          summarized_until?: number
          summary?: string | null
          summary_embedding?: unknown
          summary_model?: string | null
          title?: string | null
          updated_at?: string
          user_id?: string
        }
        Update: {
          agent_id?: string
          created_at?: string
          id?: string
          last_message_at?: string | null
          last_message_seq?: number
          message_count?: number
          metadata?: NonNullable<Json>
          organization_id?: string
          status?: string
          summarized_at?: string | null
          summarized_until?: number
          summary?: string | null
          summary_embedding?: unknown
          summary_model?: string | null
          title?: string | null
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "conversations_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "conversations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      document_sections: {
        Row: {
          content: string
          content_hash: string | null
          created_at: string
          document_id: string
          embedding: unknown
          embedding_model: string | null
          fts: unknown
          heading: string | null
          heading_path: string[]
          id: string
          ordinal: number
          organization_id: string
          page: number | null
          token_count: number
          updated_at: string
        }
        Insert: {
          content: string
          content_hash?: string | null
          created_at?: string
          document_id: string
          embedding?: unknown
          embedding_model?: string | null
          fts?: never
          heading?: string | null
          heading_path?: string[]
          id?: string
          ordinal: number
          organization_id: string
          page?: number | null
          token_count: number
          updated_at?: string
        }
        Update: {
          content?: string
          content_hash?: string | null
          created_at?: string
          document_id?: string
          embedding?: unknown
          embedding_model?: string | null
          fts?: never
          heading?: string | null
          heading_path?: string[]
          id?: string
          ordinal?: number
          organization_id?: string
          page?: number | null
          token_count?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "document_sections_document_id_fkey"
            columns: ["document_id"]
            isOneToOne: false
            referencedRelation: "documents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "document_sections_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      documents: {
        Row: {
          checksum: string | null
          created_at: string
          created_by: string | null
          error: string | null
          file_path: string | null
          id: string
          metadata: NonNullable<Json>
          mime_type: string | null
          organization_id: string
          source: string
          status: string
          tags: string[]
          title: string
          updated_at: string
          usage_count: number
        }
        Insert: {
          checksum?: string | null
          created_at?: string
          created_by?: string | null
          error?: string | null
          file_path?: string | null
          id?: string
          metadata?: NonNullable<Json>
          mime_type?: string | null
          organization_id: string
          source?: string
          status?: string
          tags?: string[]
          title: string
          updated_at?: string
          usage_count?: number
        }
        Update: {
          checksum?: string | null
          created_at?: string
          created_by?: string | null
          error?: string | null
          file_path?: string | null
          id?: string
          metadata?: NonNullable<Json>
          mime_type?: string | null
          organization_id?: string
          source?: string
          status?: string
          tags?: string[]
          title?: string
          updated_at?: string
          usage_count?: number
        }
        Relationships: [
          {
            foreignKeyName: "documents_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      file_uploads: {
        Row: {
          bucket: string
          checksum: string | null
          created_at: string
          document_id: string | null
          error: string | null
          id: string
          metadata: NonNullable<Json>
          mime_type: string | null
          object_id: string | null
          organization_id: string
          original_name: string
          path: string
          size_bytes: number | null
          status: string
          updated_at: string
          user_id: string | null
        }
        Insert: {
          bucket?: string
          checksum?: string | null
          created_at?: string
          document_id?: string | null
          error?: string | null
          id?: string
          metadata?: NonNullable<Json>
          mime_type?: string | null
          object_id?: string | null
          organization_id: string
          original_name: string
          path: string
          size_bytes?: number | null
          status?: string
          updated_at?: string
          user_id?: string | null
        }
        Update: {
          bucket?: string
          checksum?: string | null
          created_at?: string
          document_id?: string | null
          error?: string | null
          id?: string
          metadata?: NonNullable<Json>
          mime_type?: string | null
          object_id?: string | null
          organization_id?: string
          original_name?: string
          path?: string
          size_bytes?: number | null
          status?: string
          updated_at?: string
          user_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "file_uploads_document_id_fkey"
            columns: ["document_id"]
            isOneToOne: false
            referencedRelation: "documents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "file_uploads_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      messages: {
        Row: {
          content: string
          conversation_id: string
          created_at: string
          embedding: unknown
          id: string
          metadata: NonNullable<Json>
          redactions: NonNullable<Json>
          role: string
          seq: number
          token_estimate: number
          user_id: string
        }
        Insert: {
          content: string
          conversation_id: string
          created_at?: string
          embedding?: unknown
          id?: string
          metadata?: NonNullable<Json>
          redactions?: NonNullable<Json>
          role: string
          seq: number
          token_estimate: number
          user_id: string
        }
        Update: {
          content?: string
          conversation_id?: string
          created_at?: string
          embedding?: unknown
          id?: string
          metadata?: NonNullable<Json>
          redactions?: NonNullable<Json>
          role?: string
          seq?: number
          token_estimate?: number
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "messages_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_invitations: {
        Row: {
          created_at: string
          email: string | null
          expires_at: string
          id: string
          invited_by: string | null
          organization_id: string
          organization_name: string
          role: string
          user_id: string | null
        }
        Insert: {
          created_at?: string
          email?: string | null
          expires_at?: string
          id?: string
          invited_by?: string | null
          organization_id: string
          organization_name?: string
          role?: string
          user_id?: string | null
        }
        Update: {
          created_at?: string
          email?: string | null
          expires_at?: string
          id?: string
          invited_by?: string | null
          organization_id?: string
          organization_name?: string
          role?: string
          user_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "organization_invitations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_members: {
        Row: {
          created_at: string
          id: string
          organization_id: string
          role: string
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          id?: string
          organization_id: string
          role?: string
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          id?: string
          organization_id?: string
          role?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "organization_members_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      organization_retention_policies: {
        Row: {
          created_at: string
          days: number
          organization_id: string
          policy: string
          updated_at: string
          updated_by: string | null
        }
        Insert: {
          created_at?: string
          days: number
          organization_id: string
          policy: string
          updated_at?: string
          updated_by?: string | null
        }
        Update: {
          created_at?: string
          days?: number
          organization_id?: string
          policy?: string
          updated_at?: string
          updated_by?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "organization_retention_policies_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "organization_retention_policies_policy_fkey"
            columns: ["policy"]
            isOneToOne: false
            referencedRelation: "retention_policies"
            referencedColumns: ["policy"]
          },
        ]
      }
      organizations: {
        Row: {
          created_at: string
          created_by: string | null
          id: string
          name: string
          personal_user_id: string | null
          plan: string
          settings: NonNullable<Json>
          slug: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          created_by?: string | null
          id?: string
          name: string
          personal_user_id?: string | null
          plan?: string
          settings?: NonNullable<Json>
          slug: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          created_by?: string | null
          id?: string
          name?: string
          personal_user_id?: string | null
          plan?: string
          settings?: NonNullable<Json>
          slug?: string
          updated_at?: string
        }
        Relationships: []
      }
      profiles: {
        Row: {
          avatar_url: string | null
          created_at: string
          display_name: string
          id: string
          updated_at: string
        }
        Insert: {
          avatar_url?: string | null
          created_at?: string
          display_name: string
          id: string
          updated_at?: string
        }
        Update: {
          avatar_url?: string | null
          created_at?: string
          display_name?: string
          id?: string
          updated_at?: string
        }
        Relationships: []
      }
      retention_policies: {
        Row: {
          action: string
          default_days: number
          description: string
          enabled: boolean
          max_days: number
          min_days: number
          per_organization: boolean
          policy: string
          target: string
          updated_at: string
        }
        Insert: {
          action: string
          default_days: number
          description: string
          enabled?: boolean
          max_days: number
          min_days: number
          per_organization?: boolean
          policy: string
          target: string
          updated_at?: string
        }
        Update: {
          action?: string
          default_days?: number
          description?: string
          enabled?: boolean
          max_days?: number
          min_days?: number
          per_organization?: boolean
          policy?: string
          target?: string
          updated_at?: string
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      accept_invitation: {
        Args: { invitation_id: string }
        Returns: {
          created_at: string
          id: string
          organization_id: string
          role: string
          updated_at: string
          user_id: string
        }
        SetofOptions: {
          from: "*"
          to: "organization_members"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      analytics_series: {
        Args: {
          event_name?: string
          granularity?: string
          organization_id: string
          range_end: string
          range_start: string
        }
        Returns: {
          bucket: string
          count: number
          duration_count: number
          duration_max: number
          duration_sum: number
          error_count: number
          name: string
          p50_ms: number
          p95_ms: number
          p99_ms: number
          tokens: number
          value_sum: number
        }[]
      }
      decline_invitation: { Args: { invitation_id: string }; Returns: boolean }
      detect_performance_issues: {
        Args: {
          max_error_rate?: number
          organization_id: string
          slow_execution_ms?: number
          slow_search_ms?: number
        }
        Returns: {
          description: string
          details: Json
          severity: string
          type: string
        }[]
      }
      find_similar_agents: {
        Args: {
          agent_id: string
          match_count?: number
          min_similarity?: number
        }
        Returns: {
          description: string
          id: string
          name: string
          organization_id: string
          similarity: number
          status: string
          type: string
        }[]
      }
      get_error_rate: {
        Args: { hours?: number; organization_id: string }
        Returns: {
          error_rate: number
          failed_requests: number
          total_requests: number
        }[]
      }
      get_performance_summary: {
        Args: { end_time?: string; organization_id: string; start_time: string }
        Returns: {
          avg_duration_ms: number
          error_rate: number
          errors: number
          max_duration_ms: number
          name: string
          tokens: number
          total: number
        }[]
      }
      hybrid_search: {
        Args: {
          filter?: Json
          full_text_weight?: number
          match_count?: number
          query_embedding?: unknown
          query_text: string
          rrf_k?: number
          semantic_weight?: number
        }
        Returns: {
          content: string
          document_id: string
          document_title: string
          full_text_rank: number
          heading: string
          id: string
          ordinal: number
          organization_id: string
          score: number
          semantic_rank: number
          similarity: number
        }[]
      }
      hybrid_search_tracked: {
        Args: {
          filter?: Json
          full_text_weight?: number
          match_count?: number
          query_embedding?: unknown
          query_text: string
          rrf_k?: number
          semantic_weight?: number
        }
        Returns: {
          content: string
          document_id: string
          document_title: string
          full_text_rank: number
          heading: string
          id: string
          ordinal: number
          organization_id: string
          score: number
          semantic_rank: number
          similarity: number
        }[]
      }
      match_conversation_summaries: {
        Args: { match_count?: number; query_embedding: unknown }
        Returns: {
          agent_id: string
          id: string
          organization_id: string
          similarity: number
          summarized_until: number
          summary: string
          title: string
        }[]
      }
      match_document_sections: {
        Args: {
          filter?: Json
          match_count?: number
          min_similarity?: number
          query_embedding: unknown
        }
        Returns: {
          content: string
          document_id: string
          heading: string
          id: string
          ordinal: number
          organization_id: string
          similarity: number
        }[]
      }
      match_document_sections_tracked: {
        Args: {
          filter?: Json
          match_count?: number
          min_similarity?: number
          query_embedding: unknown
        }
        Returns: {
          content: string
          document_id: string
          heading: string
          id: string
          ordinal: number
          organization_id: string
          similarity: number
        }[]
      }
      match_messages: {
        Args: {
          conversation_id?: string
          match_count?: number
          query_embedding: unknown
        }
        Returns: {
          content: string
          created_at: string
          id: string
          message_conversation_id: string
          role: string
          seq: number
          similarity: number
        }[]
      }
      record_search_event: {
        Args: {
          event_name: string
          organization_id: string
          properties: Json
          results: number
          started: string
        }
        Returns: undefined
      }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {},
  },
} as const
